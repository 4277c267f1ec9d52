package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.bigqueue.testing.Soak;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The queue against a simple in-memory model under random operation sequences, with close and
 * reopen (and random memory caps) in the middle; drainTo and read(handler) batches among the
 * calls. Guarantees 1 and 6: order, offsets, sizes and
 * contents always agree with the model, and GC never deletes what the head still needs.
 */
class ModelBasedTest {
    /** Operations per seed: 1,500, or 6,000 with -Psoak. */
    private static final int STEPS = Soak.rounds("bigqueue.model.steps", 1500, 6000);

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void randomOperations_agreeWithModel(long seed) {
        Random r = new Random(seed);
        Deque<byte[]> model = new ArrayDeque<>();
        List<Long> offsets = new ArrayList<>();
        long head = 0;
        long tail = 0;
        BigQueue q = BigQueue.open(dir, config(r));
        try {
            for (int step = 0; step < STEPS; step++) {
                int op = r.nextInt(100);
                if (op < 45) {
                    byte[] m = new byte[size(r)];
                    r.nextBytes(m);
                    assertEquals(tail, q.enqueue(m));
                    model.addLast(m);
                    offsets.add(tail++);
                } else if (op < 70) {
                    byte[] expected = model.pollFirst();
                    byte[] got = q.dequeue();
                    if (expected == null) {
                        assertNull(got);
                    } else {
                        assertArrayEquals(expected, got, "at offset " + head);
                        head++;
                    }
                } else if (op < 80) {
                    int max = r.nextInt(20);
                    List<byte[]> got = new ArrayList<>();
                    long base = head;
                    int n = r.nextBoolean() ? q.drainTo(got, max) : q.read((offset, view) -> {
                        assertEquals(base + got.size(), offset);
                        byte[] m = new byte[view.remaining()];
                        view.get(m);
                        got.add(m);
                    }, max);
                    assertEquals(Math.min(max, model.size()), n);
                    for (byte[] m : got) {
                        assertArrayEquals(model.pollFirst(), m, "drained at offset " + head);
                        head++;
                    }
                } else if (op < 88) {
                    byte[] expected = model.peekFirst();
                    byte[] got = q.peek();
                    if (expected == null) {
                        assertNull(got);
                    } else {
                        assertArrayEquals(expected, got);
                    }
                } else if (op < 92) {
                    q.gc();
                } else if (op < 95) {
                    q.flush();
                } else {
                    q.close();
                    q = BigQueue.open(dir, config(r));
                }
                assertEquals(tail, q.tailOffset());
                assertEquals(head, q.headOffset());
                assertEquals(model.size(), q.size());
                assertEquals(model.isEmpty(), q.isEmpty());
                assertEquals(true, q.earliestOffset() <= head, "earliest " + q.earliestOffset() + " > head " + head);
            }
        } finally {
            q.close();
        }
    }

    private static QueueConfig config(Random r) {
        return QueueConfig.builder().arenaSize(4096).maxInMemoryArenas(r.nextInt(4))
                .gcInterval(r.nextBoolean() ? Duration.ZERO : Duration.ofMillis(5))
                .flushInterval(r.nextBoolean() ? Duration.ZERO : Duration.ofMillis(7))
                .flushEveryOps(r.nextInt(3) == 0 ? 1 + r.nextInt(20) : 0)
                .build();
    }

    private static int size(Random r) {
        int kind = r.nextInt(20);
        if (kind == 0) {
            return 0;
        }
        if (kind == 1) {
            return 4000 + r.nextInt(15_000); // spans arenas
        }
        return r.nextInt(600);
    }
}
