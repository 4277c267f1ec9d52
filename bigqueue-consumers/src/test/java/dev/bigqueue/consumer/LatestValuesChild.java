package dev.bigqueue.consumer;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A child JVM for {@link LatestValuesCrashTest}: WRITERS threads put and delete keys of round ROUND
 * (each thread its own keys, {@link #op} says which and what), each op logged to
 * {@code LOGS/w<T>.log} after it returned, one write(2) per line; in mode {@code checkpoint} one more
 * thread checkpoints back to back (logged to {@code ckpt.log}) and automatic checkpoints run every
 * 16 KiB. Runs until killed.
 *
 * <p>Args: queue dir, logs dir, round, mode (put | checkpoint).
 */
public final class LatestValuesChild {
    static final int WRITERS = 3;
    static final int KEYS_PER_WRITER = 30;

    private LatestValuesChild() {
    }

    static QueueConfig config() {
        return QueueConfig.builder().arenaSize(64 * 1024).ownConsumer(false).gcInterval(Duration.ofMillis(100))
                .build();
    }

    /** Op {@code i} of writer {@code w} in round {@code round}: its key, and its value (null: delete). */
    static String[] op(int round, int w, long i) {
        String key = "r" + round + "-w" + w + "-k" + ((i * 7 + w) % KEYS_PER_WRITER);
        String value = i % 6 == 5 ? null : "r" + round + "-w" + w + "-op" + i + "-" + "z".repeat((int) (i % 90));
        return new String[] {key, value};
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Path logs = Path.of(args[1]);
        int round = Integer.parseInt(args[2]);
        boolean checkpoints = args[3].equals("checkpoint");
        BigQueue q = BigQueue.open(dir, config());
        LatestValuesOptions opts = LatestValuesOptions.builder().checkpointEveryBytes(checkpoints ? 16 * 1024 : 0)
                .checkpointInterval(Duration.ZERO).build();
        LatestValues lv = LatestValues.open(q, "crash", opts);
        for (int w = 0; w < WRITERS; w++) {
            int id = w;
            FileOutputStream log = new FileOutputStream(logs.resolve("w" + w + ".log").toFile(), true);
            Thread t = new Thread(() -> {
                try {
                    for (long i = 0;; i++) {
                        String[] op = op(round, id, i);
                        if (op[1] == null) {
                            lv.delete(op[0]);
                        } else {
                            lv.put(op[0], op[1].getBytes(StandardCharsets.UTF_8));
                        }
                        log.write((round + " " + i + "\n").getBytes(StandardCharsets.US_ASCII));
                    }
                } catch (IOException | RuntimeException e) {
                    System.out.println("FAIL writer " + id + ": " + e);
                    e.printStackTrace(System.out);
                }
            }, "writer-" + w);
            t.start();
        }
        if (checkpoints) {
            FileOutputStream log = new FileOutputStream(logs.resolve("ckpt.log").toFile(), true);
            Thread t = new Thread(() -> {
                try {
                    for (long i = 0;; i++) {
                        lv.checkpoint();
                        log.write((round + " " + i + "\n").getBytes(StandardCharsets.US_ASCII));
                    }
                } catch (IOException | RuntimeException e) {
                    System.out.println("FAIL checkpointer: " + e);
                    e.printStackTrace(System.out);
                }
            }, "checkpointer");
            t.start();
        }
        System.out.println("READY");
    }
}
