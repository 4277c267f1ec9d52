package dev.bigqueue.internal;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The queue's periodic background work, the periodic flush ({@code flushInterval}) and arena
 * collection ({@code gcInterval}), each on its own thread ({@code bigqueue-maint-DIR} flushes,
 * {@code bigqueue-gc-DIR} collects). Owned by the engine: built by open, {@link #start() started}
 * as open's last step (never in a constructor), and {@link #stop() stopped} by close, which returns
 * only once both threads have ended.
 *
 * <p><b>Why batch scheduling, and never the idle class.</b> The threads run in {@code SCHED_BATCH}
 * at nice 0 ({@link NativeIO#makeCurrentThreadBackground}): when one wakes it does not preempt a
 * running application thread (the wake-up preemption of a normal thread is what makes background
 * work show as latency on a small machine), yet when every core is busy it still gets its fair
 * share, so a flush that falls due starts within a few scheduler slices. An earlier version ran the
 * flush in the idle class, with a normal-class watchdog to run an overdue flush itself. That cannot
 * work: an idle-class thread starved in the middle of an msync keeps the pages it was writing back
 * (locked, or queued for I/O in its plug) until it runs again, and every other msync of those
 * pages, the watchdog's, {@code flush()}'s and a {@code syncOnWrite} producer's, waits for it.
 * Measured with two other processes per core: the watchdog's msync of 256 KiB took 1.5 s behind
 * the idle thread's, and data waited 2.4 s for a 1 s interval. A thread that holds anything others
 * wait for, a kernel page included, must not be one the scheduler may starve.
 *
 * <p>So data enqueued at time t is on disk by the first due time after t, plus the time the flush
 * thread waits for a core (a few slices however busy the machine is) and the sync takes: under
 * flushInterval plus that. Flushes fall due every interval on a fixed schedule; a flush that overran
 * skips the due times it missed rather than running back to back.
 *
 * <p><b>Why two threads.</b> A collection pass syncs every consumer file, {@code queue.meta} and
 * the directory, and deletes files; on a slow disk that can take longer than a short flush
 * interval, and when both ran on one thread a flush that fell due waited for the pass (guarantee
 * 3 counts from the due time, not from the end of someone else's work). LazyFS runs of queues
 * collected every 20 ms with a 50 ms flush interval showed records acknowledged more than two
 * intervals before the power loss missing, in short runs; some still do with the threads apart,
 * where the syncs themselves take longer than the interval on that FUSE file system. The
 * collection holds the collector's pass lock, which a producer at {@code maxDiskBytes} and a
 * consumer seeking back wait for; the flush takes no lock of the collector's.
 *
 * <p><b>Shared state.</b> {@code stopped} (volatile, set by close). Everything else is confined to
 * its thread, or final, or written before {@link Thread#start()}.
 */
final class Maintenance {
    private static final Logger LOG = LoggerFactory.getLogger(Maintenance.class);

    private final String name;
    private final Flusher flusher;
    private final GarbageCollector gc;
    private final RecordLog log;
    private final long flushNs;
    private final long gcNs;
    private volatile boolean stopped;
    private Thread flushThread;
    private Thread gcThread;

    Maintenance(String queueName, Duration flushInterval, Duration gcInterval, Flusher flusher, GarbageCollector gc,
            RecordLog log) {
        this.name = queueName;
        this.flusher = flusher;
        this.gc = gc;
        this.log = log;
        this.flushNs = saturatedNanos(flushInterval);
        this.gcNs = saturatedNanos(gcInterval);
    }

    /**
     * {@code d} in nanoseconds; a period past a long of them (about 292 years, which build()
     * accepts) is taken as that long: practically never. Half of Long.MAX_VALUE, so that adding it
     * to System.nanoTime() leaves the differences {@link #runEvery} compares correct.
     */
    private static long saturatedNanos(Duration d) {
        try {
            return Math.min(d.toNanos(), Long.MAX_VALUE / 2);
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE / 2;
        }
    }

    /** Starts the threads that have work; once, by open, after everything else is in place. */
    void start() {
        if (flushNs > 0) {
            flushThread = startLoop("bigqueue-maint-" + name, flushNs, "periodic flush", () -> {
                if (flusher.writeBackFailure() == null) {
                    // After a write-back failure no flush can succeed again; it was logged once.
                    flusher.flushInBackground();
                }
            });
        }
        if (gcNs > 0) {
            gcThread = startLoop("bigqueue-gc-" + name, gcNs, "arena garbage collection", () -> gc.collect());
        }
    }

    /** Stops the threads and waits until both have ended; the work in progress finishes first. */
    void stop() {
        stopped = true;
        for (Thread t : new Thread[] {flushThread, gcThread}) {
            if (t != null) {
                ThreadEnd.await(t, true);
            }
        }
    }

    private Thread startLoop(String threadName, long periodNs, String what, IoAction action) {
        Thread t = new Thread(() -> runEvery(periodNs, what, action), threadName);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private void runEvery(long periodNs, String what, IoAction action) {
        NativeIO.makeCurrentThreadBackground();
        long next = System.nanoTime() + periodNs;
        while (!stopped) {
            long wait = next - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(this, wait);
                continue;
            }
            run(what, action);
            next = nextDue(next, periodNs);
        }
    }

    /** The first time on the schedule {@code due + k * period} that is still ahead. */
    private static long nextDue(long due, long period) {
        long late = System.nanoTime() - due;
        return late < 0 ? due : due + (late / period + 1) * period;
    }

    private interface IoAction {
        void run() throws IOException;
    }

    private boolean run(String what, IoAction action) {
        if (log.isClosed()) {
            return false;
        }
        try {
            action.run();
            return true;
        } catch (IOException | RuntimeException e) {
            if (!log.isClosed() && !stopped) {
                LOG.warn("queue {}: {} failed; will retry on schedule", name, what, e);
            }
            return false;
        }
    }
}
