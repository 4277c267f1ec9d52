package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.Fixtures.offsetOf;
import static dev.bigqueue.consumer.Fixtures.payload;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.internal.Engines;
import dev.bigqueue.internal.FileFormat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A read-only reader following a writer whose arenas are pooled and reused ({@code arenaPool}):
 * the reader's follower reads the tail of files that held other arenas a moment ago, and its
 * cache of mappings holds files the writer renames and writes over. It must see every message
 * once, in order, and nothing of the old arenas.
 */
class ArenaPoolReaderTest {
    private static final int ARENA_SIZE = 8192;
    private static final int MESSAGES = 6000;

    @TempDir
    Path work;

    @Test
    void aReaderFollowingAWriterWithReusedArenas_seesEachMessageOnceInOrder() throws Exception {
        Path dir = work.resolve("q");
        QueueConfig writerConfig = QueueConfig.builder().arenaSize(ARENA_SIZE).arenaPool(2).ownConsumer(false)
                .gcInterval(Duration.ZERO).flushInterval(Duration.ZERO).build();
        try (BigQueue w = BigQueue.open(dir, writerConfig);
                BigQueue r = BigQueue.open(dir, QueueConfig.builder().readOnly(true).build())) {
            Consumer c = Consumers.of(r).open("follower");
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread writer = new Thread(() -> {
                try {
                    for (int i = 0; i < MESSAGES; i++) {
                        w.enqueueString(payload(i));
                        if (i % 16 == 0) {
                            w.gc(); // collects (pools) what the reader has committed past
                        }
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            }, "writer");
            writer.start();
            for (int i = 0; i < MESSAGES; i++) {
                byte[] m = c.dequeue(Duration.ofSeconds(60));
                assertNotNull(m, "offset " + i + " not seen; writer failure " + failure.get());
                assertEquals(i, offsetOf(m), "each message once, in order");
            }
            writer.join();
            if (failure.get() != null) {
                throw new AssertionError("writer", failure.get());
            }
            assertNull(c.dequeue());
            long reused = Engines.of(w).log().arenas().reusedSinceOpen();
            assertTrue(reused >= 20, "the writer should have reused pooled files many times, got " + reused);
            // The arenas live at the end may all be new files (the pool can run dry while the reader
            // lags): make one more reuse, with the reader caught up, so one of them is a reused file.
            // One small message a round: the arena a reuse makes holds the tail, so gc keeps it.
            for (int round = 0; round < 20_000 && Engines.of(w).log().arenas().reusedSinceOpen() == reused; round++) {
                w.enqueueString("after " + round);
                while (c.dequeue() != null) {
                    // caught up: its commit lets the collector pool what is behind
                }
                w.gc();
            }
            assertTrue(Engines.of(w).log().arenas().reusedSinceOpen() > reused, "no reuse after catching up");
            assertTrue(maxReuses(dir) >= 1, "a reused file's header counts its reuses");
        }
    }

    /** The largest reuse count in the header of an arena file of {@code dir}. */
    private static int maxReuses(Path dir) throws IOException {
        int max = 0;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (FileFormat.arenaIdOf(p.getFileName().toString()) < 0) {
                    continue;
                }
                try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                    ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
                    ch.read(b, FileFormat.ARENA_REUSES_OFFSET);
                    max = Math.max(max, b.getInt(0));
                }
            }
        }
        return max;
    }
}
