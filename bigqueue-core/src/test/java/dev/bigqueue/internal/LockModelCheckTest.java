package dev.bigqueue.internal;

import dev.bigqueue.testing.Lincheck;
import dev.bigqueue.testing.Soak;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Validate;
import org.junit.jupiter.api.Test;

/**
 * Model checking (Lincheck) of the two hand-made locks of the core.
 *
 * <ul>
 *   <li>{@link ConsumerLock}: a counter incremented under it (read, then write: two steps that a
 *       broken lock lets interleave) must be linearizable as an atomic counter, re-entry included.
 *   <li>{@link WriterLock}'s give-up handshake: threads append (lock, take the lease if none,
 *       unlock) while others ask for the lease back without waiting. When everything has ended, no
 *       request may be left unanswered with the lease still held: that would be a lost request,
 *       and a thread waiting for a mapping slot would wait for ever.
 * </ul>
 */
class LockModelCheckTest {

    /** The consumer lock guarding a plain counter. */
    public static class ConsumerLockCounter {
        private final ConsumerLock lock = new ConsumerLock();
        private int value;

        @Operation
        public int increment() {
            lock.lock();
            try {
                int v = value;
                value = v + 1;
                return v;
            } finally {
                lock.unlock();
            }
        }

        @Operation
        public int incrementReentrant() {
            lock.lock();
            try {
                lock.lock();
                try {
                    int v = value;
                    value = v + 1;
                    return v;
                } finally {
                    lock.unlock();
                }
            } finally {
                lock.unlock();
            }
        }

        @Operation
        public int get() {
            lock.lock();
            try {
                return value;
            } finally {
                lock.unlock();
            }
        }
    }

    /** The writer lock and its lease, as the Appender uses them. */
    public static class WriterLease {
        private boolean leased;
        private final WriterLock lock = new WriterLock(() -> leased = false);

        @Operation
        public void append() {
            lock.lock();
            try {
                leased = true;
            } finally {
                lock.unlock();
            }
        }

        @Operation
        public void askForTheLease() {
            lock.requestGiveUp();
        }

        @Validate
        public void noRequestLeftWithTheLeaseHeld() {
            if (lock.requested() && leased) {
                throw new AssertionError("a request to give up the lease was lost: the lock is free, the lease held");
            }
        }
    }

    @Test
    void consumerLock_isMutualExclusion_reentrant() {
        Lincheck.options().iterations(Soak.rounds("bigqueue.lincheck.iterations", 8, 60))
                .invocationsPerIteration(Soak.rounds("bigqueue.lincheck.invocations", 300, 1000))
                .threads(2).actorsPerThread(2)
                .check(ConsumerLockCounter.class);
    }

    @Test
    void writerLock_neverLosesARequestToGiveUpTheLease() {
        Lincheck.options().iterations(Soak.rounds("bigqueue.lincheck.iterations", 8, 60))
                .invocationsPerIteration(Soak.rounds("bigqueue.lincheck.invocations", 500, 1000))
                .threads(3).actorsPerThread(2)
                .actorsBefore(1).check(WriterLease.class);
    }
}
