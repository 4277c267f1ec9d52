package dev.bigqueue.internal;

import java.util.concurrent.locks.ReentrantLock;

/**
 * The writer lock, with the handshake by which another thread asks the writer to give up its
 * lease (the tail arena it keeps pinned between appends) without waiting for the lock.
 *
 * <p>{@link #requestGiveUp()} sets a volatile flag, then tries the lock: if it gets it, the writer
 * is idle and the lease is given up there and then. If not, the holder honours the request as it
 * releases the lock: {@link #unlock()} releases, then reads the flag, and if set takes the lock
 * back (trying only) to give the lease up. Both sides write one volatile and then read the other's
 * (the lock state, the flag), so at least one of them sees the other: a request is never lost,
 * and nobody waits for it.
 */
final class WriterLock {
    private final ReentrantLock lock = new ReentrantLock();
    /** Runs under the lock to give the lease up. */
    private final Runnable giveUp;
    private volatile boolean requested;

    WriterLock(Runnable giveUp) {
        this.giveUp = giveUp;
    }

    void lock() {
        lock.lock();
    }

    /** Releases the lock, then honours a request that came while it was held. */
    void unlock() {
        for (;;) {
            lock.unlock();
            if (!requested || lock.isHeldByCurrentThread() || !lock.tryLock()) {
                return;
            }
            honour();
        }
    }

    /** Asks for the lease back; never blocks. */
    void requestGiveUp() {
        requested = true;
        if (lock.tryLock()) {
            try {
                honour();
            } finally {
                lock.unlock();
            }
        }
    }

    /** Whether a request is waiting to be honoured (for tests: never true while the lock is free). */
    boolean requested() {
        return requested;
    }

    private void honour() {
        if (requested) {
            requested = false;
            giveUp.run();
        }
    }
}
