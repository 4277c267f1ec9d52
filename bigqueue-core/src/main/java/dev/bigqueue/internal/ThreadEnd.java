package dev.bigqueue.internal;

import java.util.concurrent.locks.LockSupport;

/**
 * How close waits for one of the queue's own threads to end: it must, whatever happens to the
 * closing thread meanwhile, or a thread would outlive the mappings it touches. An interrupt of the
 * closing thread is set aside until the thread has ended, then restored for the caller.
 */
final class ThreadEnd {
    private ThreadEnd() {
    }

    /**
     * Returns once {@code t} has ended. With {@code unpark}, wakes it on every try, for threads that
     * wait with {@link LockSupport#parkNanos} and look at their stop flag when they wake.
     */
    static void await(Thread t, boolean unpark) {
        boolean interrupted = false;
        while (t.isAlive()) {
            if (unpark) {
                LockSupport.unpark(t);
            }
            try {
                t.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
