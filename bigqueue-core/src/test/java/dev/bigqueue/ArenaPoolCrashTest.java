package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.testing.ChildJvm;
import dev.bigqueue.testing.Payloads;
import dev.bigqueue.testing.QueueFiles;
import dev.bigqueue.testing.Soak;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guarantee 2 with {@code arenaPool}: a child JVM enqueues and dequeues into 8 KiB arenas that a
 * 5 ms collector pools and the writer (and the pretoucher) reuse several times a second, and is
 * killed with SIGKILL at a random moment, often in the middle of a reuse (re-heading, renaming)
 * or of a record written over old ones. After each kill the queue is reopened, with the pool: every
 * acknowledged message is there, each record from the earliest to the tail is the message enqueued
 * at its offset (an old record coming back would be another offset's payload), and the queue
 * goes on from there in the next round.
 */
class ArenaPoolCrashTest {
    private static final int ARENA_SIZE = 8192;
    private static final int MAX_MESSAGE = 3000;
    private static final int ROUNDS = Soak.rounds("bigqueue.crash.rounds", 8, 40);

    @TempDir
    Path tmp;

    @Test
    void kill9WhileArenasAreReused_noOldRecordEverComesBack() throws Exception {
        long seed = Long.getLong("bigqueue.test.seed", System.nanoTime());
        Random random = new Random(seed);
        Path dir = tmp.resolve("queue");
        long tail = 0;
        long acked = 0;
        long reused = 0;
        for (int round = 0; round < ROUNDS; round++) {
            String where = "seed " + seed + ", round " + round;
            List<String> lines;
            try (ChildJvm child = ChildJvm.start(Worker.class, dir.toString(), String.valueOf(seed))) {
                String ready = child.awaitLine(l -> l.startsWith("READY"), Duration.ofSeconds(60));
                assertEquals(tail, Long.parseLong(ready.split(" ")[1]), where + ": the child sees the recovered tail");
                // Wait until the child is well into its work (a number of reuses), then a random while more.
                int wantAcks = 200 + random.nextInt(2000);
                child.awaitLine(l -> l.startsWith("E ") && Long.parseLong(l.substring(2)) >= tailPlus(ready, wantAcks),
                        Duration.ofSeconds(120));
                child.kill();
                lines = child.lines();
                assertTrue(lines.stream().noneMatch(l -> l.startsWith("ERR")), where + ": " + lines + child.stderr());
            }
            long lastAcked = tail - 1;
            for (String line : lines) {
                if (line.startsWith("E ")) {
                    long o = Long.parseLong(line.substring(2));
                    assertEquals(lastAcked + 1, o, where + ": consecutive enqueue offsets");
                    lastAcked = o;
                    acked++;
                } else if (line.startsWith("R ")) {
                    reused = Math.max(reused, Long.parseLong(line.substring(2)));
                }
            }
            Path check = tmp.resolve("check-" + round);
            QueueFiles.copyTree(dir, check);
            // No collection while every record is read from the earliest: it would move the earliest on.
            try (BigQueue q = BigQueue.open(check, config().toBuilder().gcInterval(Duration.ZERO).build())) {
                assertTrue(q.tailOffset() >= lastAcked + 1 && q.tailOffset() <= lastAcked + 2, where
                        + ": every acknowledged enqueue and at most the one in flight; last acknowledged "
                        + lastAcked + ", tail " + q.tailOffset());
                try {
                    ArenaPoolTest.verifyEveryRecord(q, seed, MAX_MESSAGE, where);
                } catch (AssertionError e) {
                    Path keep = Path.of(System.getProperty("java.io.tmpdir"), "arenapool-failed-" + seed);
                    QueueFiles.copyTree(dir, keep);
                    throw new AssertionError(e.getMessage() + "; the killed child's directory is kept in " + keep, e);
                }
                tail = q.tailOffset();
            }
            CrashRecoveryTest.deleteTree(check);
        }
        System.out.printf("seed %d: %d rounds, %d enqueues acknowledged, tail %d; the last child reused %d files%n",
                seed, ROUNDS, acked, tail, reused);
        assertTrue(reused > 0, "the children should have reused pooled files");
    }

    private static long tailPlus(String ready, int n) {
        return Long.parseLong(ready.split(" ")[1]) + n;
    }

    static QueueConfig config() {
        return QueueConfig.builder().arenaSize(ARENA_SIZE).arenaPool(3).maxInMemoryArenas(2)
                .flushInterval(Duration.ofMillis(50)).gcInterval(Duration.ofMillis(5)).build();
    }

    /**
     * Child: opens the queue, prints {@code READY tail}, then enqueues (and dequeues about a third
     * as often, so arenas are collected and pooled) until killed, printing {@code E offset} after
     * each enqueue returned and, now and then, {@code R reusedSoFar}. Args: directory, seed.
     */
    public static final class Worker {
        public static void main(String[] args) throws Exception {
            Path dir = Path.of(args[0]);
            long seed = Long.parseLong(args[1]);
            PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false,
                    "US-ASCII");
            BigQueue q = BigQueue.open(dir, config());
            out.println("READY " + q.tailOffset());
            out.flush();
            Random r = new Random(seed ^ System.nanoTime());
            for (long i = 0; ; i++) {
                if (r.nextInt(4) != 0) {
                    long offset = q.tailOffset();
                    long got = q.enqueue(Payloads.payload(seed, offset, MAX_MESSAGE));
                    if (got != offset) {
                        out.println("ERR enqueue returned " + got + ", expected " + offset);
                        out.flush();
                        System.exit(2);
                    }
                    out.println("E " + got);
                } else {
                    for (int k = 0; k < 3; k++) {
                        long offset = q.headOffset();
                        byte[] m = q.dequeue();
                        if (m != null && !Arrays.equals(m, Payloads.payload(seed, offset, MAX_MESSAGE))) {
                            out.println("ERR dequeue at " + offset + " returned other content");
                            out.flush();
                            System.exit(3);
                        }
                    }
                }
                if ((i & 255) == 0) {
                    out.println("R " + dev.bigqueue.internal.Engines.of(q).log().arenas().reusedSinceOpen());
                }
                out.flush();
            }
        }
    }
}
