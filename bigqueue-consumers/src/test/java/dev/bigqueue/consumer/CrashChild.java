package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.Fixtures.offsetOf;
import static dev.bigqueue.consumer.Fixtures.payload;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The child JVM of the crash tests: it works on a queue until the parent kills it with SIGKILL.
 * Every line it logs is written with one unbuffered {@code write} <em>after</em> the operation it
 * reports returned, so the logs are an exact record of what was handed out (a line cut by the
 * kill has no newline and is ignored by the parent).
 *
 * <ul>
 *   <li>{@code readers DIR LOGDIR SEED}: a producer appends {@link Fixtures#payload} messages;
 *       consumers "fast", "slow" (AUTO) and "manual" (MANUAL, commits now and then) and the queue's
 *       own consumer read at different speeds, the named ones by {@code dequeue} and {@code drainTo}
 *       in turn. Log lines: {@code S p} (started at position p), {@code B o} (one call handed out
 *       messages from offset o on), {@code H o} (handed offset o), {@code C p} (committed position
 *       p), {@code X why} (a damaged message).</li>
 *   <li>{@code manual DIR}: "ledger" (MANUAL) reads 25 messages, committing after 20, and "auto"
 *       reads 25; prints {@code DONE} and waits to be killed.</li>
 *   <li>{@code requeue DIR}: "cycler" requeues {@code item-i#n} as {@code item-i#n+1} forever.</li>
 * </ul>
 */
public final class CrashChild {
    static final String[] READERS = {"fast", "slow", "manual"};
    static final int PER_RUN = 2500;

    private CrashChild() {
    }

    static QueueConfig config() {
        return QueueConfig.builder().arenaSize(Fixtures.ARENA_SIZE).gcInterval(Duration.ofMillis(20))
                .flushInterval(Duration.ofMillis(50)).build();
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[1]);
        switch (args[0]) {
            case "readers":
                readers(dir, Path.of(args[2]), Long.parseLong(args[3]));
                break;
            case "manual":
                manual(dir);
                break;
            case "requeue":
                requeue(dir);
                break;
            default:
                throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }

    private static void readers(Path dir, Path logDir, long seed) throws Exception {
        BigQueue q = BigQueue.open(dir, config());
        Consumers consumers = Consumers.of(q);
        Random random = new Random(seed);
        for (int k = 0; k < READERS.length; k++) {
            String name = READERS[k];
            Consumer c = consumers.open(name, name.equals("manual") ? CommitMode.MANUAL : CommitMode.AUTO);
            Log log = new Log(logDir.resolve(name + ".log"));
            log.line("S " + c.position());
            int pace = k;
            long commitSeed = random.nextLong();
            start(name, () -> read(c, log, pace, new Random(commitSeed)));
        }
        Log own = new Log(logDir.resolve("own.log"));
        own.line("S " + q.headOffset());
        Random ownRandom = new Random(random.nextLong());
        start("own", () -> {
            List<byte[]> batch = new ArrayList<>();
            for (;;) {
                readCall(ownRandom, batch, q::dequeue, q::drainTo);
                logBatch(batch, own);
            }
        });
        Log producer = new Log(logDir.resolve("producer.log"));
        System.out.println("READY");
        System.out.flush();
        long limit = q.tailOffset() + PER_RUN;
        for (long n = 0; q.tailOffset() < limit; n++) {
            long offset = q.tailOffset();
            long got = q.enqueueString(payload(offset));
            if (got != offset) {
                producer.line("X enqueue returned " + got + ", expected " + offset);
            }
            producer.line("P " + got);
            if (n % 8 == 0) {
                Thread.sleep(1);
            }
        }
        Thread.sleep(Long.MAX_VALUE);
    }

    private interface Body {
        void run() throws Exception;
    }

    private static void start(String name, Body body) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                e.printStackTrace();
                System.exit(3);
            }
        }, name);
        t.setDaemon(true);
        t.start();
    }

    private static void read(Consumer c, Log log, int pace, Random random) throws Exception {
        boolean manual = c.commitMode() == CommitMode.MANUAL;
        int commitEvery = 1 + random.nextInt(10);
        List<byte[]> batch = new ArrayList<>();
        long n = 0;
        for (;;) {
            readCall(random, batch, c::dequeue, c::drainTo);
            logBatch(batch, log);
            for (int i = 0; i < batch.size(); i++) {
                n++;
                if (pace > 0 && n % (4 / pace) == 0) {
                    Thread.sleep(1);
                }
            }
            if (manual && n >= commitEvery) {
                c.commit();
                log.line("C " + c.committedPosition());
                commitEvery = (int) n + 1 + random.nextInt(10);
            }
        }
    }

    private interface DequeueCall {
        byte[] call(Duration timeout) throws InterruptedException;
    }

    private interface DrainCall {
        int call(List<byte[]> sink, int max, Duration timeout) throws InterruptedException;
    }

    /** One read call into {@code batch}: a dequeue or a drainTo of up to 8, at random. */
    private static void readCall(Random random, List<byte[]> batch, DequeueCall dequeue, DrainCall drain)
            throws InterruptedException {
        batch.clear();
        if (random.nextBoolean()) {
            byte[] m = dequeue.call(Duration.ofMillis(10));
            if (m != null) {
                batch.add(m);
            }
        } else {
            drain.call(batch, 1 + random.nextInt(8), Duration.ofMillis(10));
        }
    }

    /** Logs what one read call handed out: where it began, then each message. */
    private static void logBatch(List<byte[]> batch, Log log) {
        if (!batch.isEmpty()) {
            log.line("B " + checked(batch.get(0), log));
        }
        for (byte[] m : batch) {
            log.line("H " + checked(m, log));
        }
    }

    private static long checked(byte[] m, Log log) {
        try {
            return offsetOf(m);
        } catch (AssertionError | RuntimeException e) {
            log.line("X " + e.getMessage());
            throw e;
        }
    }

    private static void manual(Path dir) throws Exception {
        BigQueue q = BigQueue.open(dir, config());
        Consumers consumers = Consumers.of(q);
        Consumer ledger = consumers.open("ledger", CommitMode.MANUAL);
        Consumer auto = consumers.open("auto");
        for (int i = 0; i < 25; i++) {
            ledger.dequeue();
            auto.dequeue();
            if (i == 19) {
                ledger.commit();
            }
        }
        System.out.println("DONE " + ledger.position() + " " + ledger.committedPosition());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }

    private static void requeue(Path dir) throws Exception {
        BigQueue q = BigQueue.open(dir, config());
        Consumer cycler = Consumers.of(q).open("cycler");
        start("own", () -> {
            for (;;) {
                q.dequeue(Duration.ofMillis(10)); // the own consumer must not hold arenas
            }
        });
        System.out.println("READY");
        System.out.flush();
        for (;;) {
            if (!cycler.requeue(CrashChild::nextCycle)) {
                Thread.sleep(1);
            }
        }
    }

    /** {@code item-i#n} becomes {@code item-i#n+1}. */
    static byte[] nextCycle(byte[] m) {
        String s = new String(m, StandardCharsets.UTF_8);
        int hash = s.indexOf('#');
        String next = s.substring(0, hash + 1) + (Long.parseLong(s.substring(hash + 1)) + 1);
        return next.getBytes(StandardCharsets.UTF_8);
    }

    /** An append-only log; each line is one write(2), so a kill leaves at most a partial last line. */
    static final class Log {
        private final FileOutputStream out;

        Log(Path file) throws IOException {
            this.out = new FileOutputStream(file.toFile(), true);
            long length = java.nio.file.Files.exists(file) ? java.nio.file.Files.size(file) : 0;
            if (length > 0) {
                try (java.io.RandomAccessFile r = new java.io.RandomAccessFile(file.toFile(), "r")) {
                    r.seek(length - 1);
                    if (r.read() != '\n') {
                        out.write('\n'); // end a line a kill cut short, so it stays apart from the next
                    }
                }
            }
        }

        synchronized void line(String s) {
            try {
                out.write((s + "\n").getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
