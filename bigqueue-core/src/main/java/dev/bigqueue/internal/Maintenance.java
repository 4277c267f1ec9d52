package dev.bigqueue.internal;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The queue's periodic background work, the periodic flush ({@code flushInterval}) and arena
 * collection ({@code gcInterval}), and the one thread that does it ({@code bigqueue-maint-DIR}).
 * Owned by the engine: built by open, {@link #start() started} as open's last step (never in a
 * constructor), and {@link #stop() stopped} by close, which returns only once the thread has ended.
 *
 * <p><b>Why batch scheduling, and never the idle class.</b> The thread runs in {@code SCHED_BATCH}
 * at nice 0 ({@link NativeIO#makeCurrentThreadBackground}): when it wakes it does not preempt a
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
 * <p>So data enqueued at time t is on disk by the first due time after t, plus the time this thread
 * waits for a core (a few slices however busy the machine is) and the sync takes: under
 * flushInterval plus that. Flushes fall due every interval on a fixed schedule; a flush that overran
 * skips the due times it missed rather than running back to back.
 *
 * <p>The collection runs on the same thread, after a flush when both are due: it is mostly file
 * deletion, little CPU, and it holds the collector's pass lock, which a producer at {@code
 * maxDiskBytes} and a consumer seeking back wait for.
 *
 * <p><b>Shared state.</b> {@code stopped} (volatile, set by close). Everything else is confined to
 * the thread, or final, or written before {@link Thread#start()}.
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
    private Thread thread;

    Maintenance(String queueName, Duration flushInterval, Duration gcInterval, Flusher flusher, GarbageCollector gc,
            RecordLog log) {
        this.name = queueName;
        this.flusher = flusher;
        this.gc = gc;
        this.log = log;
        this.flushNs = flushInterval.toNanos();
        this.gcNs = gcInterval.toNanos();
    }

    /** Starts the thread; once, by open, after everything else is in place. */
    void start() {
        if (flushNs == 0 && gcNs == 0) {
            return;
        }
        thread = new Thread(this::runOnSchedule, "bigqueue-maint-" + name);
        thread.setDaemon(true);
        thread.start();
    }

    /** Stops the thread and waits until it has ended; the work in progress finishes first. */
    void stop() {
        stopped = true;
        Thread t = thread;
        if (t == null) {
            return;
        }
        ThreadEnd.await(t, true);
    }

    private void runOnSchedule() {
        NativeIO.makeCurrentThreadBackground();
        long startNs = System.nanoTime();
        long nextFlush = flushNs > 0 ? startNs + flushNs : Long.MAX_VALUE;
        long nextGc = gcNs > 0 ? startNs + gcNs : Long.MAX_VALUE;
        while (!stopped) {
            long wait = Math.min(nextFlush, nextGc) - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(this, wait);
                continue;
            }
            if (System.nanoTime() - nextFlush >= 0) {
                if (flusher.writeBackFailure() == null) {
                    // After a write-back failure no flush can succeed again; it was logged once.
                    run("periodic flush", flusher::flushInBackground);
                }
                nextFlush = nextDue(nextFlush, flushNs);
            }
            if (System.nanoTime() - nextGc >= 0) {
                run("arena garbage collection", gc::collect);
                nextGc = nextDue(nextGc, gcNs);
            }
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
