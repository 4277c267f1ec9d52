package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.Fixtures.offsetOf;
import static dev.bigqueue.consumer.Fixtures.payload;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueClosedException;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.WhenFull;
import dev.bigqueue.testing.Poll;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * QueueConfig.readOnly in one JVM: a read-only open takes no directory lock, so it can sit beside
 * the writer here; the tests with other processes are in {@link ReadOnlyProcessesTest}.
 */
class ReadOnlyQueueTest {
    @TempDir
    Path work;

    static QueueConfig reader() {
        return QueueConfig.builder().readOnly(true).build();
    }

    static QueueConfig writer() {
        return QueueConfig.builder().arenaSize(Fixtures.ARENA_SIZE).gcInterval(Duration.ZERO)
                .flushInterval(Duration.ZERO).ownConsumer(false).build();
    }

    @Test
    void aReaderSeesWhatTheWriterAppends_acrossArenas_andSpanningRecords() {
        Path dir = work.resolve("q");
        try (BigQueue w = BigQueue.open(dir, writer())) {
            for (int i = 0; i < 300; i++) {
                w.enqueueString(payload(i));
            }
            try (BigQueue r = BigQueue.open(dir, reader())) {
                assertEquals(300, r.tailOffset());
                assertEquals(Fixtures.ARENA_SIZE, r.config().arenaSize());
                Consumer c = Consumers.of(r).open("follower");
                for (int i = 0; i < 300; i++) {
                    assertEquals(i, offsetOf(c.dequeue()));
                }
                assertNull(c.dequeue());
                for (int i = 300; i < 700; i++) {
                    w.enqueueString(payload(i));
                }
                for (int i = 300; i < 700; i++) {
                    byte[] m = c.dequeue();
                    assertNotNull(m, "offset " + i + " not seen; tail " + r.tailOffset());
                    assertEquals(i, offsetOf(m));
                }
                assertNull(c.dequeue());
                assertEquals(700, r.tailOffset());
            }
        }
    }

    @Test
    void writesAreRefused_saying_whyAndWhatToUseInstead() {
        Path dir = work.resolve("q");
        try (BigQueue w = BigQueue.open(dir, writer())) {
            w.enqueueString("a");
        }
        try (BigQueue r = BigQueue.open(dir, reader())) {
            for (Executable call : new Executable[] {() -> r.enqueueString("x"), () -> r.enqueue(new byte[1]),
                () -> r.enqueue(java.nio.ByteBuffer.allocate(1)), r::dequeue, r::peek, r::gc, r::size, r::isEmpty,
                () -> r.dequeue(Duration.ZERO), r::take, r::headOffset}) {
                IllegalStateException e = assertThrows(IllegalStateException.class, call);
                assertTrue(e.getMessage().contains("read-only"), e.getMessage());
                assertTrue(e.getMessage().contains("Consumers.of(queue)"), e.getMessage());
            }
            Consumer c = Consumers.of(r).open("x");
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> c.requeue(m -> m));
            assertTrue(e.getMessage().contains("read-only"), e.getMessage());
            r.flush(); // syncs the consumers' positions: allowed
        }
    }

    @Test
    void aReadOnlyOpenNeverCreatesAQueue() {
        Path dir = work.resolve("none");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BigQueue.open(dir, reader()));
        assertTrue(e.getMessage().contains("never creates one"), e.getMessage());
        assertTrue(!Files.exists(dir), "the read-only open created " + dir);
    }

    @Test
    void aReaderChangesNoFileOfTheQueue_evenOfAQueueWhoseWriterDied() throws Exception {
        Path dir = work.resolve("q");
        try (BigQueue w = BigQueue.open(dir, writer())) {
            for (int i = 0; i < 50; i++) {
                w.enqueueString(payload(i));
            }
        }
        Map<String, String> before = digests(dir);
        try (BigQueue r = BigQueue.open(dir, reader())) {
            Consumer c = Consumers.of(r).open("reader");
            for (int i = 0; i < 50; i++) {
                assertEquals(i, offsetOf(c.dequeue()));
            }
            r.tailOffset();
            r.earliestOffset();
        }
        Map<String, String> after = digests(dir);
        after.keySet().removeIf(f -> f.startsWith("consumers"));
        before.keySet().removeIf(f -> f.startsWith("consumers"));
        assertEquals(before, after, "a read-only open changed the queue's files");
    }

    /**
     * A writer died while appending a record that spans into the next arena; a reader polling with
     * {@code dequeue()} waits at that record with the next arena mapped; the writer comes back, its
     * recovery cuts the torn record and deletes that arena, and it appends a new record across the
     * same boundary into a new file. The reader must map the new file: it looks again after 100 ms
     * without progress, across calls (before, only inside one blocking wait, so a polling reader
     * kept the deleted file's bytes for ever). The limit below only turns a hang into a failure.
     */
    @Test
    void aPollingReader_followsAWriterWhoseRecoveryReplacedTheNextArena() throws Exception {
        Path dir = work.resolve("q");
        int[] sizes = {1500, 1500, 1500};
        long[] at = dev.bigqueue.testing.QueueFiles.positions(sizes);
        assertTrue(at[2] / 4000 == 0 && at[3] / 4000 == 1, "record 2 spans arenas 0 and 1");
        try (BigQueue w = BigQueue.open(dir, writer())) {
            for (int size : sizes) {
                w.enqueue(new byte[size]);
            }
        }
        // As if the writer died after a flush that covered records 0 and 1, mid-way through record 2.
        dev.bigqueue.testing.QueueFiles.forgeCrashAfterFlush(dir, 2, at[2]);
        Path arena1 = dev.bigqueue.testing.QueueFiles.arenaFileAt(dir, Fixtures.ARENA_SIZE, at[3] - 10);
        dev.bigqueue.testing.QueueFiles.flipByte(arena1,
                dev.bigqueue.testing.QueueFiles.indexInArena(Fixtures.ARENA_SIZE, at[3] - 10));
        try (BigQueue r = BigQueue.open(dir, reader())) {
            Consumer c = Consumers.of(r).open("poller");
            assertEquals(1500, c.dequeue().length);
            assertEquals(1500, c.dequeue().length);
            assertNull(c.dequeue(), "the torn record is never handed out");
            byte[] next = new byte[1500];
            java.util.Arrays.fill(next, (byte) 7);
            try (BigQueue w = BigQueue.open(dir, writer())) {
                assertEquals(2, w.tailOffset(), "recovery cut the torn record");
                assertEquals(2, w.enqueue(next));
                w.enqueueString("after");
                byte[][] m = new byte[1][];
                Poll.until(() -> (m[0] = c.dequeue()) != null, r::tailOffset, Duration.ofSeconds(60),
                        () -> "the reader never saw the record the new writer appended across into the re-created"
                        + " arena; reader tail " + r.tailOffset());
                assertArrayEquals(next, m[0]);
                assertEquals("after", new String(c.dequeue(), StandardCharsets.UTF_8));
            }
        }
    }

    static Map<String, String> digests(Path dir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                try {
                    byte[] d = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p));
                    out.put(dir.relativize(p).toString(), java.util.HexFormat.of().formatHex(d)
                            + " " + Files.getLastModifiedTime(p).toMillis());
                } catch (java.security.NoSuchAlgorithmException e) {
                    throw new AssertionError(e);
                }
            }
        }
        return out;
    }

    @Test
    void takeOnAReaderWaitsForTheWritersNextMessage() throws Exception {
        Path dir = work.resolve("q");
        try (BigQueue w = BigQueue.open(dir, writer()); BigQueue r = BigQueue.open(dir, reader())) {
            Consumer c = Consumers.of(r).open("waiter");
            long[] latencies = new long[20];
            for (int i = 0; i < latencies.length; i++) {
                CompletableFuture<byte[]> taken = CompletableFuture.supplyAsync(() -> {
                    try {
                        return c.take();
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                });
                // Enqueue only once the reader is parked in take (a condition, not a time).
                awaitWaiting(taken);
                long t0 = System.nanoTime();
                w.enqueueString(payload(i));
                byte[] m = taken.get(60, TimeUnit.SECONDS);
                latencies[i] = System.nanoTime() - t0;
                assertEquals(i, offsetOf(m));
            }
            java.util.Arrays.sort(latencies);
            System.out.println("read-only take latency over " + latencies.length + " appends: median "
                    + latencies[latencies.length / 2] / 1000 + " us, max " + latencies[latencies.length - 1] / 1000
                    + " us");
        }
    }

    /** Until the thread running {@code f}'s task is parked (or the task is done). */
    private static void awaitWaiting(CompletableFuture<?> f) throws InterruptedException {
        while (!f.isDone() && Thread.getAllStackTraces().keySet().stream().noneMatch(t ->
                t.getState() == Thread.State.TIMED_WAITING && java.util.Arrays.stream(t.getStackTrace())
                        .anyMatch(e -> e.getMethodName().equals("await")
                                && e.getClassName().endsWith("TailFollower")))) {
            Thread.onSpinWait();
        }
    }

    @Test
    void closeOfAReaderEndsATakeInProgress() throws Exception {
        Path dir = work.resolve("q");
        try (BigQueue w = BigQueue.open(dir, writer())) {
            w.enqueueString("first");
            BigQueue r = BigQueue.open(dir, reader());
            Consumer c = Consumers.of(r).open("waiter");
            assertArrayEquals("first".getBytes(StandardCharsets.UTF_8), c.dequeue());
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread t = new Thread(() -> {
                try {
                    c.take();
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            t.start();
            CompletableFuture<Void> probe = new CompletableFuture<>();
            awaitWaiting(probe);
            r.close();
            t.join();
            assertTrue(failure.get() instanceof IllegalStateException, "take ended with " + failure.get());
            assertThrows(QueueClosedException.class, c::dequeue);
            assertThrows(QueueClosedException.class, r::tailOffset);
        }
    }

    @Test
    void theWritersGcKeepsWhatAReadersConsumerHasNotRead_andFreesItOnceRead() {
        Path dir = work.resolve("q");
        try (BigQueue w = BigQueue.open(dir, writer())) {
            try (BigQueue r = BigQueue.open(dir, reader())) {
                Consumer lagging = Consumers.of(r).open("lagging");
                Consumer done = Consumers.of(w).open("done"); // reads everything: only "lagging" holds arenas
                for (int i = 0; i < 400; i++) {
                    w.enqueueString(payload(i));
                }
                while (done.dequeue() != null) {
                    // to the tail
                }
                Map<String, Long> before = Fixtures.arenaContents(dir);
                long arenas = before.size();
                assertTrue(arenas > 5, "only " + arenas + " arenas");
                w.gc();
                assertEquals(0, w.earliestOffset(), "GC deleted what a reader's consumer had not read");
                Fixtures.assertArenasKept(before, dir);
                for (int i = 0; i < 350; i++) {
                    assertEquals(i, offsetOf(lagging.dequeue()));
                }
                lagging.dequeue(); // commits the one before (AUTO commits lazily)
                w.gc();
                assertTrue(w.earliestOffset() > 100, "GC kept everything: earliest " + w.earliestOffset());
                assertTrue(w.earliestOffset() <= 350, "GC passed the reader's consumer: " + w.earliestOffset());
                assertTrue(Fixtures.arenaFiles(dir) < arenas);
                // The reader goes on reading from arenas it had mapped and ones it maps now.
                for (int i = 351; i < 400; i++) {
                    assertEquals(i, offsetOf(lagging.dequeue()));
                }
                assertEquals(w.earliestOffset(), r.earliestOffset());
            }
        }
    }

    @Test
    void aConsumerIsOpenInOnePlaceOnly_aWriterAndAReaderInOneJvm() {
        Path dir = work.resolve("q");
        try (BigQueue w = BigQueue.open(dir, writer()); BigQueue r = BigQueue.open(dir, reader())) {
            Consumer mine = Consumers.of(r).open("billing");
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> Consumers.of(w).open("billing"));
            assertTrue(e.getMessage().contains("already open in this process"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> Consumers.of(w).delete("billing"));
            mine.close();
            Consumers.of(w).open("billing").close();
            assertTrue(Consumers.of(r).delete("billing"));
        }
    }

    @Test
    void aReaderBehindArenasDroppedByRule_movesToTheEarliest() {
        Path dir = work.resolve("q");
        QueueConfig dropping = QueueConfig.builder().arenaSize(Fixtures.ARENA_SIZE).gcInterval(Duration.ZERO)
                .flushInterval(Duration.ZERO).ownConsumer(false).maxDiskBytes(4 * Fixtures.ARENA_SIZE)
                .whenFull(WhenFull.DROP_OLDEST).build();
        try (BigQueue w = BigQueue.open(dir, dropping); BigQueue r = BigQueue.open(dir, reader())) {
            Consumer slow = Consumers.of(r).open("slow");
            for (int i = 0; i < 200; i++) {
                w.enqueueString("m" + i + "|" + "y".repeat(90));
            }
            assertTrue(w.earliestOffset() > 0, "nothing dropped");
            assertEquals(w.earliestOffset(), r.earliestOffset());
            byte[] m = slow.dequeue();
            assertNotNull(m);
            long got = Long.parseLong(new String(m, StandardCharsets.UTF_8).split("\\|")[0].substring(1));
            assertEquals(w.earliestOffset(), got, "the reader did not move to the earliest kept");
        }
    }
    /**
     * A consumer the writer's process moved on, opened next in a reader process whose follower
     * another thread keeps busy, resumes where it was committed. The open used to compare the
     * commit with the reader's verified tail, which lags the writer, take the consumer for one
     * past a tail lost in an OS crash and commit it back to that tail: redelivering, or committing
     * it into arenas the writer had collected, damaged from then on for every process.
     */
    @Test
    void aConsumerMovedOnByTheWriter_opensInAReaderWhereItWasCommitted_neverBack() throws Exception {
        Path dir = work.resolve("q");
        QueueConfig writerConfig = QueueConfig.builder().arenaSize(1 << 20).gcInterval(Duration.ZERO)
                .flushInterval(Duration.ZERO).ownConsumer(false).build();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        try (BigQueue w = BigQueue.open(dir, writerConfig); BigQueue r = BigQueue.open(dir, reader())) {
            byte[] message = new byte[200];
            Consumer follower = Consumers.of(r).open("follower");
            Thread writer = new Thread(() -> {
                while (!stop.get()) {
                    w.enqueue(message);
                }
            });
            Thread reading = new Thread(() -> {
                while (!stop.get()) {
                    follower.dequeue(); // keeps the reader's follower verifying
                }
            });
            writer.start();
            reading.start();
            try {
                for (int round = 0; round < 300; round++) {
                    Consumer c = Consumers.of(w).open("c");
                    c.seekToEnd();
                    long committed = c.position();
                    c.close();
                    Consumer inReader = Consumers.of(r).open("c");
                    long resumed = inReader.position();
                    inReader.close();
                    assertTrue(resumed >= committed, "round " + round + ": committed at " + committed
                            + " in the writer, the reader's open put it back to " + resumed);
                }
            } finally {
                stop.set(true);
                writer.join();
                reading.join();
            }
        }
    }
    /**
     * A read-only consumer behind arenas that retention dropped moves to the earliest message kept
     * (with a WARN), also when the writer pooled a dropped arena's file and reused it: the reader's
     * remembered mapping of it then shows another arena's records, and its next read used to fail
     * as damage ("record length … runs past the end of the log") instead.
     */
    @Test
    void aReaderBehindADropWhoseArenaFileWasReused_movesToTheEarliest_notDamage() {
        Path dir = work.resolve("q");
        QueueConfig writerConfig = QueueConfig.builder().arenaSize(8192).gcInterval(Duration.ZERO)
                .flushInterval(Duration.ZERO).ownConsumer(false).arenaPool(1).retention(Duration.ofMinutes(1))
                .build();
        java.time.Instant old = java.time.Instant.ofEpochMilli(1_000_000); // older than the retention
        try (BigQueue w = BigQueue.open(dir, writerConfig); BigQueue r = BigQueue.open(dir, reader())) {
            Consumer slow = Consumers.of(r).open("slow");
            long n = 0;
            for (; n < 300; n++) { // about 4 arenas
                w.enqueue(dev.bigqueue.Message.builder().timestamp(old).value(n + "|" + "y".repeat(90)).build());
            }
            assertEquals("0|" + "y".repeat(90), new String(slow.dequeue(), StandardCharsets.UTF_8));
            w.gc();
            long earliest = w.earliestOffset();
            assertTrue(earliest > 0, "retention dropped nothing");
            long reused = dev.bigqueue.internal.Engines.of(w).log().arenas().reusedSinceOpen();
            for (long end = n + 160; n < end; n++) { // two more arenas: the pooled file is one of them
                w.enqueue(dev.bigqueue.Message.builder().timestamp(old).value(n + "|" + "z".repeat(90)).build());
            }
            assertTrue(dev.bigqueue.internal.Engines.of(w).log().arenas().reusedSinceOpen() > reused,
                    "the writer reused a pooled file");
            String next = new String(slow.dequeue(), StandardCharsets.UTF_8);
            assertEquals(Long.toString(w.earliestOffset()), next.substring(0, next.indexOf('|')),
                    "the reader resumes at the earliest message kept");
        }
    }
}
