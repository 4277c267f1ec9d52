package dev.bigqueue.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The consumer lock: mutual exclusion under contention, reentrancy, tryLock, interrupts. */
class ConsumerLockTest {
    /** Not volatile on purpose: only the lock's ordering makes the increments add up. */
    private long counter;

    @Test
    void fourThreadsIncrementing_noIncrementIsLost() throws Exception {
        ConsumerLock lock = new ConsumerLock();
        int threads = 4;
        int perThread = 200_000;
        AtomicInteger inside = new AtomicInteger();
        AtomicBoolean overlap = new AtomicBoolean();
        List<Thread> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread th = new Thread(() -> {
                for (int i = 0; i < perThread; i++) {
                    lock.lock();
                    try {
                        if (inside.incrementAndGet() != 1) {
                            overlap.set(true);
                        }
                        counter++;
                        if (i % 10_000 == 0) {
                            // Long holds now and then push the others into the parking path.
                            Thread.yield();
                        }
                        inside.decrementAndGet();
                    } finally {
                        lock.unlock();
                    }
                }
            });
            all.add(th);
            th.start();
        }
        for (Thread th : all) {
            th.join(TimeUnit.MINUTES.toMillis(1));
        }
        assertFalse(overlap.get(), "two threads held the lock at once");
        assertEquals((long) threads * perThread, counter);
    }

    @Test
    void reentrant_andReleasedOnlyByTheLastUnlock() throws Exception {
        ConsumerLock lock = new ConsumerLock();
        lock.lock();
        lock.lock();
        assertTrue(lock.tryLock());
        lock.unlock();
        lock.unlock();
        assertFalse(tryLockFromOtherThread(lock), "still held once");
        lock.unlock();
        assertTrue(tryLockFromOtherThread(lock));
    }

    @Test
    void unlockByAThreadNotHoldingIt_throws() {
        ConsumerLock lock = new ConsumerLock();
        assertThrows(IllegalMonitorStateException.class, lock::unlock);
    }

    @Test
    void parkedWaiter_getsTheLockWhenReleased_andKeepsItsInterruptStatus() throws Exception {
        ConsumerLock lock = new ConsumerLock();
        lock.lock();
        CountDownLatch started = new CountDownLatch(1);
        AtomicBoolean got = new AtomicBoolean();
        AtomicBoolean stillInterrupted = new AtomicBoolean();
        Thread waiter = new Thread(() -> {
            started.countDown();
            lock.lock();
            got.set(true);
            stillInterrupted.set(Thread.currentThread().isInterrupted());
            lock.unlock();
        });
        waiter.start();
        started.await();
        Thread.sleep(50);
        waiter.interrupt();
        Thread.sleep(20);
        assertFalse(got.get(), "the waiter took a held lock");
        lock.unlock();
        waiter.join(TimeUnit.SECONDS.toMillis(10));
        assertTrue(got.get());
        assertTrue(stillInterrupted.get(), "lock() must not swallow an interrupt");
    }

    private static boolean tryLockFromOtherThread(ConsumerLock lock) throws InterruptedException {
        AtomicBoolean got = new AtomicBoolean();
        Thread t = new Thread(() -> {
            if (lock.tryLock()) {
                got.set(true);
                lock.unlock();
            }
        });
        t.start();
        t.join();
        return got.get();
    }
}
