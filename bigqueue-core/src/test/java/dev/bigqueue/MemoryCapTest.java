package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.testing.QueueFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Guarantee 5 (memory): at no moment are more than {@code maxInMemoryArenas} arena files mapped.
 * Counts the mappings the kernel reports in {@code /proc/self/maps} while a producer and a
 * consumer drive hundreds of arenas through the queue.
 */
class MemoryCapTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void producerAndConsumer_neverMapMoreThanTheCap(int cap) throws Exception {
        QueueConfig config = QueueConfig.builder().arenaSize(8192).maxInMemoryArenas(cap)
                .gcInterval(java.time.Duration.ZERO)
                .build();
        int messages = 20_000; // ~300 arenas of 8 KiB
        AtomicInteger maxSeen = new AtomicInteger();
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (BigQueue q = BigQueue.open(dir, config)) {
            Thread watcher = new Thread(() -> {
                try {
                    while (!done.get()) {
                        maxSeen.accumulateAndGet(QueueFiles.mappedArenaFiles(dir), Math::max);
                    }
                } catch (IOException e) {
                    failure.set(e);
                }
            });
            watcher.start();
            Thread consumer = new Thread(() -> {
                try {
                    for (int i = 0; i < messages; i++) {
                        byte[] m = q.take();
                        assertEquals(i, ByteBufferInts.read(m));
                        if (i % 1000 == 0) {
                            q.gc();
                        }
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            consumer.start();
            Random r = new Random(1);
            for (int i = 0; i < messages; i++) {
                q.enqueue(ByteBufferInts.message(i, r.nextInt(300)));
            }
            consumer.join(60_000);
            done.set(true);
            watcher.join();
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            assertTrue(q.isEmpty());
        }
        assertTrue(maxSeen.get() >= 1, "the watcher must have seen the mappings");
        assertTrue(maxSeen.get() <= cap, "saw " + maxSeen.get() + " arena files mapped at once, cap is " + cap);
        assertEquals(0, QueueFiles.mappedArenaFiles(dir), "close() unmaps every arena");
    }

    @Test
    void messageLargerThanAllowedMappings_stillRoundTrips() throws IOException {
        QueueConfig config = QueueConfig.builder().arenaSize(4096).maxInMemoryArenas(1).build();
        byte[] big = new byte[100_000]; // spans 25 arenas with only one mapped at a time
        new Random(7).nextBytes(big);
        try (BigQueue q = BigQueue.open(dir, config)) {
            q.enqueue(big);
            assertTrue(QueueFiles.mappedArenaFiles(dir) <= 1);
            assertArrayEquals(big, q.dequeue());
            assertNull(q.dequeue());
            assertTrue(QueueFiles.mappedArenaFiles(dir) <= 1);
        }
    }

    @Test
    void noCap_mapsAsNeeded() throws IOException {
        QueueConfig config = QueueConfig.builder().arenaSize(4096).maxInMemoryArenas(0).build();
        try (BigQueue q = BigQueue.open(dir, config)) {
            for (int i = 0; i < 50; i++) {
                q.enqueue(new byte[3000]);
            }
            for (int i = 0; i < 50; i++) {
                q.dequeue();
            }
            assertTrue(QueueFiles.mappedArenaFiles(dir) > 3);
        }
    }

    /** Messages that carry their own index, padded to a given size. */
    static final class ByteBufferInts {
        static byte[] message(int i, int padding) {
            byte[] m = new byte[4 + padding];
            java.nio.ByteBuffer.wrap(m).putInt(i);
            return m;
        }

        static int read(byte[] m) {
            return java.nio.ByteBuffer.wrap(m).getInt();
        }

        private ByteBufferInts() {
        }
    }
}
