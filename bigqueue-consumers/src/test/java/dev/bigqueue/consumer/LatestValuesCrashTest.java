package dev.bigqueue.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.bigqueue.BigQueue;
import dev.bigqueue.testing.ChildJvm;
import dev.bigqueue.testing.Poll;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of a child JVM that puts and deletes (and, in one mode, checkpoints back to back, so most
 * kills land inside a checkpoint): after every kill the reopened store holds, for every key, the
 * result of the last acknowledged op on it or of the one op its writer had in flight; never an
 * older value; every earlier round's keys as they were verified.
 */
class LatestValuesCrashTest {
    private static final int ROUNDS = 6;

    @TempDir
    Path work;

    @Test
    void killedDuringPut() throws Exception {
        run("put");
    }

    @Test
    void killedDuringCheckpoint() throws Exception {
        run("checkpoint");
    }

    private void run(String mode) throws Exception {
        Path dir = work.resolve("queue");
        long seed = System.nanoTime();
        Random random = new Random(seed);
        Map<String, String> verified = new HashMap<>(); // keys of earlier rounds, as last seen
        for (int round = 0; round < ROUNDS; round++) {
            Path logs = Files.createDirectories(work.resolve("logs-" + round));
            ChildJvm child = ChildJvm.start(LatestValuesChild.class, dir.toString(), logs.toString(),
                    Integer.toString(round), mode);
            try {
                child.awaitLine("READY", Duration.ofMinutes(2));
                awaitProgress(logs, 200 + random.nextInt(2000), mode.equals("checkpoint") ? 3 : 0);
                child.kill();
                assertTrue(child.lines().stream().noneMatch(l -> l.startsWith("FAIL")), child.lines().toString());
            } finally {
                child.close();
            }
            try (BigQueue q = BigQueue.open(dir, LatestValuesChild.config());
                    LatestValues lv = LatestValues.open(q, "crash")) {
                String context = "mode " + mode + ", round " + round + ", seed " + seed;
                for (Map.Entry<String, String> e : verified.entrySet()) {
                    assertEquals(e.getValue(), str(lv.get(e.getKey())), context + ": key of an earlier round");
                }
                for (int w = 0; w < LatestValuesChild.WRITERS; w++) {
                    long acked = lastAcked(logs.resolve("w" + w + ".log"), round);
                    assertTrue(acked >= 0, context + ": writer " + w + " made no progress");
                    Map<String, String> last = new HashMap<>();
                    for (long i = 0; i <= acked; i++) {
                        String[] op = LatestValuesChild.op(round, w, i);
                        last.put(op[0], op[1]);
                    }
                    String[] inFlight = LatestValuesChild.op(round, w, acked + 1);
                    for (int k = 0; k < LatestValuesChild.KEYS_PER_WRITER; k++) {
                        String key = "r" + round + "-w" + w + "-k" + k;
                        String got = str(lv.get(key));
                        boolean ok = java.util.Objects.equals(got, last.get(key))
                                || (inFlight[0].equals(key) && java.util.Objects.equals(got, inFlight[1]));
                        if (!ok) {
                            fail(context + ": " + key + " is " + got + "; last acknowledged op on it left "
                                    + last.get(key) + ", in flight: " + String.join("=", inFlight[0],
                                    String.valueOf(inFlight[1])));
                        }
                        if (got != null) {
                            verified.put(key, got);
                        }
                    }
                }
                assertEquals(verified.size(), lv.size(), context + ": no other key");
            }
        }
    }

    private static String str(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    /** The last op index of {@code round} in a writer's log (complete lines only); -1 if none. */
    private static long lastAcked(Path log, int round) throws IOException {
        if (!Files.exists(log)) {
            return -1;
        }
        String all = Files.readString(log, StandardCharsets.US_ASCII);
        long last = -1;
        int end = all.lastIndexOf('\n');
        for (String line : all.substring(0, Math.max(0, end)).split("\n")) {
            String[] p = line.split(" ");
            if (p.length == 2 && Integer.parseInt(p[0]) == round) {
                last = Math.max(last, Long.parseLong(p[1]));
            }
        }
        return last;
    }

    /** Whole lines in a child's log so far; 0 before it exists. */
    private static long lines(Path log) {
        try {
            if (!Files.exists(log)) {
                return 0;
            }
            return Files.readString(log, StandardCharsets.US_ASCII).chars().filter(c -> c == '\n').count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits (a condition, not a time) until every writer acknowledged {@code ops} and {@code checkpoints} ran. */
    private static void awaitProgress(Path logs, long ops, long checkpoints) throws Exception {
        Poll.until(() -> {
            boolean done = lines(logs.resolve("ckpt.log")) >= checkpoints;
            for (int w = 0; w < LatestValuesChild.WRITERS; w++) {
                done &= lines(logs.resolve("w" + w + ".log")) >= ops;
            }
            return done;
        }, () -> {
            long all = lines(logs.resolve("ckpt.log"));
            for (int w = 0; w < LatestValuesChild.WRITERS; w++) {
                all += lines(logs.resolve("w" + w + ".log"));
            }
            return all;
        }, Duration.ofMinutes(3), () -> "writers short of " + ops + " acknowledged puts or " + checkpoints
                + " checkpoints");
    }
}
