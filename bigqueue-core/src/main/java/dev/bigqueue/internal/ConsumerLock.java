package dev.bigqueue.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;

/**
 * The lock of one consumer: reentrant mutual exclusion like a non-fair {@code ReentrantLock}, made
 * for the common case of one thread per consumer, where it is never contended. Taking it is one
 * CAS and releasing it one release store; {@code ReentrantLock} releases with a volatile store (a
 * full fence on x86), which cost about 15 ns of a 100 ns dequeue.
 *
 * <p>The price of the release store: a releasing thread may read the count of parked waiters
 * before a waiter's registration is visible while that waiter still sees the lock held (the
 * store-load reordering a fence would forbid), and so not wake it. A waiter therefore never relies
 * on being woken: it parks for a bounded time, {@value #MIN_PARK_NS} ns at first and doubling up to
 * {@value #MAX_PARK_NS} ns, and tries again. A wake-up missed that way is rare (the two threads
 * must meet within a few nanoseconds) and costs that waiter at most one such park.
 */
final class ConsumerLock {
    private static final VarHandle STATE;
    private static final VarHandle PARKED;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            STATE = l.findVarHandle(ConsumerLock.class, "state", int.class);
            PARKED = l.findVarHandle(ConsumerLock.class, "parked", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Tries before parking: a dequeue holds the lock for well under a microsecond. */
    private static final int SPINS = 128;
    private static final long MIN_PARK_NS = 50_000;
    private static final long MAX_PARK_NS = 2_000_000;

    /** 1 while held, else 0. An int, not the owner thread: a CAS of a reference costs GC barriers. */
    private volatile int state;
    /** The holder's thread id, 0 when free; written by the holder only, read for re-entry and unlock. */
    private long ownerId;
    /** Re-entries beyond the first hold; read and written by the owner only. */
    private int reentries;
    /** Waiters registered to be woken (in {@link #waiters}); the owner reads it on release. */
    private volatile int parked;
    private final Queue<Thread> waiters = new ConcurrentLinkedQueue<>();

    /** Takes the lock, waiting as long as it takes; ignores interrupts (keeping the status). */
    void lock() {
        long me = Thread.currentThread().getId();
        if (STATE.compareAndSet(this, 0, 1)) {
            ownerId = me;
        } else {
            lockSlow(me);
        }
    }

    /** Takes the lock if it is free or already held by this thread. */
    boolean tryLock() {
        long me = Thread.currentThread().getId();
        if (STATE.compareAndSet(this, 0, 1)) {
            ownerId = me;
            return true;
        }
        if (ownerId == me) {
            reentries++;
            return true;
        }
        return false;
    }

    /** Whether the calling thread holds the lock. */
    boolean isHeldByCurrentThread() {
        return state != 0 && ownerId == Thread.currentThread().getId();
    }

    void unlock() {
        if (ownerId != Thread.currentThread().getId()) {
            throw new IllegalMonitorStateException("the consumer lock is not held by this thread");
        }
        if (reentries > 0) {
            reentries--;
            return;
        }
        ownerId = 0;
        STATE.setRelease(this, 0);
        if (parked != 0) {
            Thread next = waiters.peek();
            if (next != null) {
                LockSupport.unpark(next);
            }
        }
    }

    private void lockSlow(long me) {
        if (ownerId == me) {
            reentries++;
            return;
        }
        for (int i = 0; i < SPINS; i++) {
            Thread.onSpinWait();
            if (state == 0 && STATE.compareAndSet(this, 0, 1)) {
                ownerId = me;
                return;
            }
        }
        Thread thread = Thread.currentThread();
        waiters.add(thread);
        PARKED.getAndAdd(this, 1);
        boolean interrupted = false;
        try {
            long parkNs = MIN_PARK_NS;
            while (!STATE.compareAndSet(this, 0, 1)) {
                LockSupport.parkNanos(this, parkNs);
                parkNs = Math.min(parkNs * 2, MAX_PARK_NS);
                // An interrupt makes parkNanos return at once: clear it while waiting, restore it after.
                interrupted |= Thread.interrupted();
            }
            ownerId = me;
        } finally {
            PARKED.getAndAdd(this, -1);
            waiters.remove(thread);
            if (interrupted) {
                thread.interrupt();
            }
        }
    }
}
