package dev.bigqueue.consumer;

import dev.bigqueue.BigQueue;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Random public calls of the lifetime tests, one kind per role: a producer (every enqueue
 * variant), a reader of the queue's own consumer, a thread working a named consumer (every
 * Consumer and Consumers method), and an admin (flush, gc, sizes, offsets). Every message read
 * is checked whole ({@link Messages#check}); the queue's own consumer is also checked for order.
 *
 * <p>Calls that may legitimately lose a race handle it here: a {@code seek} whose target the GC
 * (or DROP_OLDEST) removed meanwhile, a {@code copy} onto a name another thread just took. Every
 * other exception goes to the caller, which decides whether it is allowed (after close, a full
 * queue) or a failure.
 */
final class CallMix {
    static final int MAX_MESSAGE = 80_000;
    static final String[] AUTO_NAMES = {"c0", "c1"};
    static final String MANUAL_NAME = "m0";
    static final String[] COPY_NAMES = {"k0", "k1"};

    private CallMix() {
    }

    /** Enqueues producer {@code producer}'s message {@code seq} through a random variant; its offset. */
    static long produce(BigQueue q, Random r, int producer, long seq, int maxSize) {
        byte[] m = Messages.of(producer, seq, maxSize);
        switch (r.nextInt(5)) {
            case 0:
                return q.enqueue(m);
            case 1: {
                byte[] framed = new byte[m.length + 7];
                java.util.Arrays.fill(framed, (byte) '#');
                System.arraycopy(m, 0, framed, 3, m.length);
                return q.enqueue(framed, 3, m.length);
            }
            case 2: {
                ByteBuffer b = r.nextBoolean() ? ByteBuffer.allocateDirect(m.length + 5)
                        : ByteBuffer.allocate(m.length + 5);
                b.position(2);
                b.put(m);
                b.position(2);
                b.limit(2 + m.length);
                long offset = q.enqueue(b);
                if (b.position() != 2) {
                    throw new AssertionError("enqueue(ByteBuffer) moved the buffer's position to " + b.position());
                }
                return offset;
            }
            case 3:
                // ASCII: the UTF-8 bytes are the message's bytes.
                return q.enqueueString(new String(m, StandardCharsets.ISO_8859_1));
            default:
                long offset = q.enqueue(m);
                if (r.nextInt(20) == 0) {
                    q.flush();
                }
                return offset;
        }
    }

    /**
     * Checks that each producer's messages come in the order it enqueued them, as one thread of
     * one consumer that never seeks sees them. Requeued messages are exempt.
     */
    static final class Order {
        private final Map<Integer, Long> last = new HashMap<>();
        private final String who;

        Order(String who) {
            this.who = who;
        }

        void saw(byte[] m, int maxSize) {
            Messages.Id id = Messages.check(m, maxSize);
            if (id.requeues > 0) {
                return;
            }
            Long before = last.put(id.producer, id.seq);
            if (before != null && before >= id.seq) {
                throw new AssertionError(who + " got P" + id.producer + ":" + id.seq + " after P" + id.producer + ":"
                        + before + ": out of order or twice");
            }
        }
    }

    /**
     * One call on the queue's own consumer. {@code mayBlock}: take() is in the mix (it waits
     * until a message comes or the queue closes).
     */
    static void ownRead(BigQueue q, Random r, Order order, boolean mayBlock, int maxSize)
            throws InterruptedException {
        List<byte[]> batch = new ArrayList<>();
        switch (r.nextInt(10)) {
            case 0:
                batch.add(q.dequeue());
                break;
            case 1: {
                String s = q.dequeueString();
                batch.add(s == null ? null : s.getBytes(StandardCharsets.UTF_8));
                break;
            }
            case 2:
                batch.add(q.dequeue(Duration.ofMillis(r.nextInt(3))));
                break;
            case 3:
                batch.add(mayBlock ? q.take() : q.dequeue(Duration.ofMillis(1)));
                break;
            case 4: {
                byte[] m = q.peek();
                if (m != null) {
                    Messages.check(m, maxSize);
                }
                break;
            }
            case 5:
                if (r.nextBoolean()) {
                    q.drainTo(batch, 1 + r.nextInt(16));
                } else {
                    q.read((offset, view) -> batch.add(copyOf(view)), 1 + r.nextInt(16));
                }
                break;
            case 6:
                q.drainTo(batch, 1 + r.nextInt(16), Duration.ofMillis(r.nextInt(3)));
                break;
            case 7:
                q.isEmpty();
                q.size();
                break;
            case 8:
                q.headOffset();
                q.tailOffset();
                q.earliestOffset();
                break;
            default:
                batch.add(q.dequeue(Duration.ZERO));
                break;
        }
        for (byte[] m : batch) {
            if (m != null) {
                order.saw(m, maxSize);
            }
        }
    }

    /** What a MessageHandler was handed, copied out (the view is valid only during the call). */
    static byte[] copyOf(java.nio.ByteBuffer view) {
        byte[] m = new byte[view.remaining()];
        view.get(m);
        return m;
    }

    /** The consumer a named-consumer call works on: one of a few shared names, AUTO or MANUAL. */
    static Consumer pick(Consumers consumers, Random r) {
        if (r.nextInt(4) == 0) {
            return consumers.open(MANUAL_NAME, CommitMode.MANUAL);
        }
        return consumers.open(AUTO_NAMES[r.nextInt(AUTO_NAMES.length)]);
    }

    /**
     * One call on consumer {@code c} (or on the registry). {@code mayBlock}: take() is in the mix;
     * {@code requeue}: requeue is (it appends, so it waits at maxDiskBytes with BLOCK);
     * {@code registry}: close, copy and delete are (they end the consumer other threads share).
     */
    static void namedCall(BigQueue q, Consumers consumers, Consumer c, Random r, boolean mayBlock, boolean requeue,
            boolean registry, int maxSize) throws InterruptedException {
        List<byte[]> batch = new ArrayList<>();
        int kinds = registry ? 19 : 14;
        switch (r.nextInt(kinds)) {
            case 0:
                batch.add(c.dequeue());
                break;
            case 1: {
                String s = c.dequeueString();
                batch.add(s == null ? null : s.getBytes(StandardCharsets.UTF_8));
                break;
            }
            case 2:
                batch.add(c.dequeue(Duration.ofMillis(r.nextInt(3))));
                break;
            case 3:
                batch.add(mayBlock ? c.take() : c.dequeue(Duration.ofMillis(1)));
                break;
            case 4:
                batch.add(c.peek());
                break;
            case 5:
                if (r.nextBoolean()) {
                    c.drainTo(batch, 1 + r.nextInt(16));
                } else {
                    c.read((offset, view) -> batch.add(copyOf(view)), 1 + r.nextInt(16));
                }
                break;
            case 6:
                c.drainTo(batch, 1 + r.nextInt(16), Duration.ofMillis(r.nextInt(3)));
                break;
            case 7:
                if (r.nextBoolean()) {
                    c.commit();
                } else {
                    commitSomewhere(c, r);
                }
                break;
            case 8:
                seekSomewhere(q, c, r);
                break;
            case 9:
                c.seekToBeginning();
                break;
            case 10:
                c.seekToEnd();
                break;
            case 11:
                if (requeue) {
                    boolean keep = r.nextBoolean();
                    c.requeue(m -> {
                        Messages.check(m, maxSize);
                        return keep ? Messages.requeued(m) : null;
                    });
                } else {
                    batch.add(c.dequeue());
                }
                break;
            case 12:
                c.lag();
                c.position();
                c.committedPosition();
                c.isEmpty();
                break;
            case 13:
                Consumers.of(q).open(c.name(), c.commitMode()).peek();
                break;
            case 14:
                if (r.nextInt(4) == 0) {
                    c.close();
                } else {
                    consumers.names();
                }
                break;
            case 15:
            case 16: {
                String name = COPY_NAMES[r.nextInt(COPY_NAMES.length)];
                try {
                    Consumer copy = consumers.copy(name, c);
                    batch.add(copy.dequeue());
                } catch (IllegalArgumentException e) {
                    if (!String.valueOf(e.getMessage()).contains("already exists")) {
                        throw e;
                    }
                }
                break;
            }
            case 17:
                consumers.delete(COPY_NAMES[r.nextInt(COPY_NAMES.length)]);
                break;
            default:
                if (r.nextInt(8) == 0) {
                    consumers.delete(AUTO_NAMES[1]); // threads sharing it get "deleted", then open it anew
                } else {
                    consumers.names();
                }
                break;
        }
        for (byte[] m : batch) {
            if (m != null) {
                Messages.check(m, maxSize);
            }
        }
    }

    /**
     * A commit of a prefix of what was handed out; another thread of the same consumer may seek
     * or commit between the reads and the commit, so a refusal naming the range is fine.
     */
    static void commitSomewhere(Consumer c, Random r) {
        long committed = c.committedPosition();
        long position = c.position();
        long target = committed + (long) (r.nextDouble() * (Math.max(0, position - committed) + 1));
        try {
            c.commit(target);
        } catch (IllegalArgumentException e) {
            if (!String.valueOf(e.getMessage()).contains("cannot commit offset " + target)) {
                throw e;
            }
        }
    }

    /** A seek to a random offset, often near the tail; a target the GC removed meanwhile is fine. */
    static void seekSomewhere(BigQueue q, Consumer c, Random r) {
        long earliest = q.earliestOffset();
        long tail = q.tailOffset();
        long target = r.nextBoolean() ? tail - r.nextInt(4)
                : earliest + (long) (r.nextDouble() * (tail - earliest + 1));
        target = Math.max(earliest, Math.min(tail, target));
        try {
            c.seek(target);
        } catch (IllegalArgumentException e) {
            if (target >= q.earliestOffset()) {
                throw new AssertionError("seek(" + target + ") refused though earliestOffset is "
                        + q.earliestOffset() + " and tailOffset " + q.tailOffset() + ": " + e.getMessage(), e);
            }
        }
    }

    /** One housekeeping call: flush, gc, sizes and offsets, the registry, the config. */
    static void adminCall(BigQueue q, Random r) {
        switch (r.nextInt(8)) {
            case 0:
                q.flush();
                break;
            case 1:
                q.gc();
                break;
            case 2:
                q.size();
                q.isEmpty();
                break;
            case 3:
                q.headOffset();
                q.tailOffset();
                q.earliestOffset();
                break;
            case 4:
                q.config();
                q.directory();
                break;
            case 5:
                Consumers.of(q).names();
                break;
            case 6:
                Consumers.of(q).open(AUTO_NAMES[0]).lag();
                break;
            default:
                for (String name : Consumers.of(q).names()) {
                    if (name.startsWith("c")) {
                        Consumers.of(q).open(name).lag();
                    }
                }
                break;
        }
    }
}
