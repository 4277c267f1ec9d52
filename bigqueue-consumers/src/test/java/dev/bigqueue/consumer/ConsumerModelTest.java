package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.Fixtures.small;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Named consumers against a plain in-memory model, under random operations: enqueue, dequeue,
 * peek, commit, seek (valid and not), requeue, open in either mode, copy, delete, close, GC, the
 * queue's own consumer, and closing and reopening the whole queue. After every step each open
 * consumer's position, committed position and lag match the model, and GC never passes a
 * committed position.
 */
class ConsumerModelTest {
    private static final String[] NAMES = {"a", "b", "c", "d.1"};
    private static final int STEPS = 2500;

    @TempDir
    Path dir;

    /** What the model knows of one persisted consumer. */
    private static final class Model {
        long position;
        long committed;
        CommitMode mode;

        Model(long position, long committed, CommitMode mode) {
            this.position = position;
            this.committed = committed;
            this.mode = mode;
        }
    }

    private final List<String> messages = new ArrayList<>();
    private final Map<String, Model> persisted = new TreeMap<>();
    private final Map<String, Consumer> handles = new HashMap<>();
    private final List<Consumer> stale = new ArrayList<>();
    private long ownPosition;
    private BigQueue q;
    private Consumers consumers;
    private Random random;
    private String trace;
    private long highestEarliest;
    private int reopens;

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3})
    void randomOperations_matchTheModel(long seed) {
        random = new Random(seed);
        q = BigQueue.open(dir, small());
        consumers = Consumers.of(q);
        try {
            for (int step = 0; step < STEPS; step++) {
                trace = "seed " + seed + ", step " + step;
                int op = random.nextInt(100);
                if (op < 25) {
                    enqueue();
                } else if (op < 39) {
                    onOpen(this::dequeue);
                } else if (op < 45) {
                    onOpen(this::drain);
                } else if (op < 49) {
                    onOpen(this::peek);
                } else if (op < 54) {
                    onOpen(this::commit);
                } else if (op < 60) {
                    onOpen(this::seek);
                } else if (op < 65) {
                    onOpen(this::requeue);
                } else if (op < 72) {
                    open();
                } else if (op < 75) {
                    onOpen(this::copy);
                } else if (op < 77) {
                    delete();
                } else if (op < 80) {
                    onOpen(this::close);
                } else if (op < 82) {
                    reopenQueue();
                } else if (op < 92) {
                    ownDequeue();
                } else if (op < 96) {
                    gc();
                } else {
                    useStale();
                }
                checkAll();
            }
            assertTrue(highestEarliest > 0 && reopens > 5, "the run must exercise GC and reopening: earliest reached "
                    + highestEarliest + ", reopens " + reopens);
        } finally {
            q.close();
        }
    }

    private interface Action {
        void run(String name, Consumer c);
    }

    private void onOpen(Action action) {
        if (handles.isEmpty()) {
            open();
            return;
        }
        List<String> open = new ArrayList<>(handles.keySet());
        open.sort(null);
        String name = open.get(random.nextInt(open.size()));
        action.run(name, handles.get(name));
    }

    private String randomMessage() {
        int len = random.nextInt(20) == 0 ? 4000 + random.nextInt(6000) : random.nextInt(400);
        StringBuilder b = new StringBuilder(len);
        for (int i = 0; i < len; i++) {
            b.append((char) ('a' + random.nextInt(26)));
        }
        return b.toString();
    }

    private void enqueue() {
        String m = randomMessage();
        assertEquals(messages.size(), q.enqueueString(m), trace);
        messages.add(m);
    }

    private String expectedAt(long position) {
        return position < messages.size() ? messages.get((int) position) : null;
    }

    private void dequeue(String name, Consumer c) {
        Model m = persisted.get(name);
        String expected = expectedAt(m.position);
        assertEquals(expected, c.dequeueString(), trace + ": dequeue of " + name);
        if (m.mode == CommitMode.AUTO) {
            // The message returned, or, when none is, everything handed out before.
            m.committed = m.position;
        }
        if (expected != null) {
            m.position++;
        }
    }

    private void drain(String name, Consumer c) {
        Model m = persisted.get(name);
        int max = random.nextInt(12);
        List<byte[]> got = new ArrayList<>();
        int n = c.drainTo(got, max);
        assertEquals(Math.min(max, Math.max(0, messages.size() - m.position)), n, trace + ": drainTo of " + name);
        assertEquals(n, got.size(), trace);
        if (m.mode == CommitMode.AUTO) {
            // A batch counts as consumed at the next call; an empty call commits what came before.
            m.committed = m.position;
        }
        for (byte[] b : got) {
            assertEquals(expectedAt(m.position), new String(b, java.nio.charset.StandardCharsets.UTF_8),
                    trace + ": drainTo of " + name);
            m.position++;
        }
    }

    private void peek(String name, Consumer c) {
        String expected = expectedAt(persisted.get(name).position);
        byte[] got = c.peek();
        assertEquals(expected, got == null ? null : new String(got, java.nio.charset.StandardCharsets.UTF_8), trace);
    }

    private void commit(String name, Consumer c) {
        c.commit();
        Model m = persisted.get(name);
        m.committed = m.position;
    }

    private void seek(String name, Consumer c) {
        Model m = persisted.get(name);
        long earliest = q.earliestOffset();
        long tail = messages.size();
        int kind = random.nextInt(10);
        if (kind == 0) {
            long bad = random.nextBoolean() ? tail + 1 + random.nextInt(5) : earliest - 1 - random.nextInt(5);
            assertThrows(IllegalArgumentException.class, () -> c.seek(bad), trace);
            return;
        }
        long target;
        if (kind == 1) {
            c.seekToBeginning();
            target = earliest;
        } else if (kind == 2) {
            c.seekToEnd();
            target = tail;
        } else {
            target = earliest + (long) (random.nextDouble() * (tail - earliest + 1));
            c.seek(target);
        }
        m.position = target;
        if (m.mode == CommitMode.AUTO || target < m.committed) {
            m.committed = target;
        }
    }

    private void requeue(String name, Consumer c) {
        Model m = persisted.get(name);
        String expected = expectedAt(m.position);
        boolean append = random.nextBoolean();
        String[] seen = new String[1];
        boolean did = c.requeue(bytes -> {
            seen[0] = new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
            return append ? (seen[0] + "r").getBytes(java.nio.charset.StandardCharsets.UTF_8) : null;
        });
        assertEquals(expected != null, did, trace);
        assertEquals(expected, seen[0], trace);
        if (did) {
            if (append) {
                messages.add(expected + "r");
            }
            m.position++;
            if (m.mode == CommitMode.AUTO) {
                m.committed = m.position;
            }
        }
    }

    private void open() {
        String name = NAMES[random.nextInt(NAMES.length)];
        CommitMode mode = random.nextInt(3) == 0 ? CommitMode.MANUAL : CommitMode.AUTO;
        Consumer open = handles.get(name);
        if (open != null) {
            if (open.commitMode() == mode) {
                assertSame(open, consumers.open(name, mode), trace);
            } else {
                assertThrows(IllegalStateException.class, () -> consumers.open(name, mode), trace);
            }
            return;
        }
        Model m = persisted.get(name);
        if (m == null) {
            long earliest = q.earliestOffset();
            persisted.put(name, new Model(earliest, earliest, mode));
        } else {
            m.position = m.committed;
            m.mode = mode;
        }
        handles.put(name, consumers.open(name, mode));
    }

    private void copy(String name, Consumer source) {
        String target = NAMES[random.nextInt(NAMES.length)];
        if (persisted.containsKey(target)) {
            assertThrows(IllegalArgumentException.class, () -> consumers.copy(target, source), trace);
            return;
        }
        Model m = persisted.get(name);
        persisted.put(target, new Model(m.position, m.position, m.mode));
        handles.put(target, consumers.copy(target, source));
    }

    private void delete() {
        String name = NAMES[random.nextInt(NAMES.length)];
        assertEquals(persisted.remove(name) != null, consumers.delete(name), trace);
        Consumer c = handles.remove(name);
        if (c != null) {
            stale.add(c);
        }
    }

    private void close(String name, Consumer c) {
        c.close();
        handles.remove(name);
        stale.add(c);
        Model m = persisted.get(name);
        if (m.mode == CommitMode.AUTO) {
            m.committed = m.position;
        }
    }

    private void reopenQueue() {
        reopens++;
        q.close();
        for (Map.Entry<String, Consumer> e : handles.entrySet()) {
            Model m = persisted.get(e.getKey());
            if (m.mode == CommitMode.AUTO) {
                m.committed = m.position;
            }
            stale.add(e.getValue());
        }
        handles.clear();
        q = BigQueue.open(dir, small());
        consumers = Consumers.of(q);
        assertEquals(persisted.keySet(), consumers.names(), trace);
    }

    private void ownDequeue() {
        String expected = expectedAt(ownPosition);
        assertEquals(expected, q.dequeueString(), trace);
        if (expected != null) {
            ownPosition++;
        }
    }

    private void gc() {
        q.gc();
        long earliest = q.earliestOffset();
        highestEarliest = Math.max(highestEarliest, earliest);
        for (Map.Entry<String, Model> e : persisted.entrySet()) {
            assertTrue(earliest <= e.getValue().committed, trace + ": GC deleted offsets " + e.getKey()
                    + " has not committed; earliest " + earliest + ", committed " + e.getValue().committed);
        }
        assertTrue(earliest <= ownPosition, trace);
    }

    private void useStale() {
        if (stale.isEmpty()) {
            return;
        }
        Consumer c = stale.get(random.nextInt(stale.size()));
        assertThrows(IllegalStateException.class, c::dequeue, trace);
        assertThrows(IllegalStateException.class, c::position, trace);
        if (stale.size() > 20) {
            stale.remove(0);
        }
    }

    private void checkAll() {
        long tail = messages.size();
        assertEquals(tail, q.tailOffset(), trace);
        for (Map.Entry<String, Consumer> e : handles.entrySet()) {
            Model m = persisted.get(e.getKey());
            Consumer c = e.getValue();
            String what = trace + ", consumer " + e.getKey();
            assertEquals(m.position, c.position(), what + " position");
            assertEquals(m.committed, c.committedPosition(), what + " committed");
            assertEquals(tail - m.position, c.lag(), what + " lag");
            assertEquals(m.position == tail, c.isEmpty(), what + " isEmpty");
        }
    }
}
