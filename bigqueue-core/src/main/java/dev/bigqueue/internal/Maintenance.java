package dev.bigqueue.internal;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The queue's periodic background work, the periodic flush ({@code flushInterval}) and arena
 * collection ({@code gcInterval}), and the threads that do it. Owned by the engine: built by open,
 * {@link #start() started} as open's last step (never in a constructor), and {@link #stop()
 * stopped} by close, which returns only once both threads have ended.
 *
 * <p><b>Two threads, and why.</b> The worker ({@code bigqueue-maintenance-DIR}) runs in the idle
 * scheduling class: on a small machine a background thread at normal priority takes a core from
 * the application for as long as its work lasts (a flush of 10 MB is milliseconds of CPU), which
 * the application sees as latency; an idle-class thread only runs on a free core. But when every
 * core stays busy, it may not run at all, and an unprivileged thread cannot leave the idle class
 * again (the kernel refuses under the default RLIMIT_NICE). So a second thread
 * ({@code bigqueue-flush-watchdog-DIR}), in the normal class, wakes once per interval, half an
 * interval after a flush fell due, and if the worker has not started that flush it runs it itself.
 * Data enqueued at time t is then synced by a flush that starts before t + 1.5 * flushInterval
 * plus the time a normal thread waits for a core, however busy the machine is.
 *
 * <p><b>Shared state.</b> {@code nextFlushNs} is the due time of the next periodic flush; a thread
 * claims a flush by moving it on with a compare-and-set, so each due flush runs once. Everything
 * else is confined to its thread, or final.
 */
final class Maintenance {
    private static final Logger LOG = LoggerFactory.getLogger(Maintenance.class);

    private final String name;
    private final Flusher flusher;
    private final GarbageCollector gc;
    private final RecordLog log;
    private final long flushNs;
    private final long gcNs;
    private final AtomicLong nextFlushNs = new AtomicLong();
    private volatile boolean stopped;
    private Thread worker;
    private Thread watchdog;

    Maintenance(String queueName, Duration flushInterval, Duration gcInterval, Flusher flusher, GarbageCollector gc,
            RecordLog log) {
        this.name = queueName;
        this.flusher = flusher;
        this.gc = gc;
        this.log = log;
        this.flushNs = flushInterval.toNanos();
        this.gcNs = gcInterval.toNanos();
    }

    /** Starts the threads; once, by open, after everything else is in place. */
    void start() {
        if (flushNs == 0 && gcNs == 0) {
            return;
        }
        nextFlushNs.set(System.nanoTime() + flushNs);
        worker = new Thread(this::work, "bigqueue-maintenance-" + name);
        worker.setDaemon(true);
        worker.start();
        if (flushNs > 0) {
            watchdog = new Thread(this::watch, "bigqueue-flush-watchdog-" + name);
            watchdog.setDaemon(true);
            watchdog.start();
        }
    }

    /** Stops both threads and waits until they have ended; the work in progress finishes first. */
    void stop() {
        stopped = true;
        join(worker);
        join(watchdog);
    }

    private static void join(Thread t) {
        if (t == null) {
            return;
        }
        boolean interrupted = false;
        while (t.isAlive()) {
            LockSupport.unpark(t);
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

    private void work() {
        NativeIO.makeCurrentThreadBackground();
        long nextGcNs = System.nanoTime() + gcNs;
        while (!stopped) {
            long now = System.nanoTime();
            if (flushNs > 0) {
                claimFlush(now, false);
            }
            if (gcNs > 0 && now - nextGcNs >= 0) {
                run("arena garbage collection", gc::collect);
                nextGcNs = System.nanoTime() + gcNs;
            }
            long wake = Long.MAX_VALUE;
            if (flushNs > 0) {
                wake = nextFlushNs.get() - System.nanoTime();
            }
            if (gcNs > 0) {
                wake = Math.min(wake, nextGcNs - System.nanoTime());
            }
            if (wake > 0 && !stopped) {
                LockSupport.parkNanos(this, wake);
            }
        }
    }

    private void watch() {
        while (!stopped) {
            long due = nextFlushNs.get();
            long late = due + flushNs / 2;
            long wait = late - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(this, wait);
                continue;
            }
            if (nextFlushNs.get() == due) {
                // The worker did not get a core in time: flush from here, in the normal class.
                claimFlush(System.nanoTime(), true);
            }
        }
    }

    /** Runs the periodic flush if it is due and nobody else claimed it. */
    private void claimFlush(long now, boolean overdue) {
        long due = nextFlushNs.get();
        if (now - due >= 0 && nextFlushNs.compareAndSet(due, now + flushNs)) {
            if (overdue) {
                LOG.debug("queue {}: the periodic flush was overdue; the watchdog runs it", name);
            }
            run("periodic flush", flusher::flushInBackground);
        }
    }

    private interface IoAction {
        void run() throws IOException;
    }

    private void run(String what, IoAction action) {
        if (log.isClosed()) {
            return;
        }
        try {
            action.run();
        } catch (IOException | RuntimeException e) {
            if (!log.isClosed() && !stopped) {
                LOG.warn("queue {}: {} failed; will retry on schedule", name, what, e);
            }
        }
    }
}
