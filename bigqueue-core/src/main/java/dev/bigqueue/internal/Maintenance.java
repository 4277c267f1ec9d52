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
 * <p><b>Two threads, and why.</b> The flusher ({@code bigqueue-flush-DIR}) runs in the idle
 * scheduling class: on a small machine a background thread at normal priority takes a core from
 * the application for as long as its work lasts (a flush of 10 MB is milliseconds of CPU), which
 * the application sees as latency; an idle-class thread only runs on a free core. But when every
 * core stays busy it may get none, even in the middle of a flush, and an unprivileged thread
 * cannot leave the idle class again (the kernel refuses under the default RLIMIT_NICE). So a
 * second thread ({@code bigqueue-timer-DIR}), in the normal class, checks half an interval after
 * each due time whether a flush that started at or after it has completed, and if not runs one
 * itself (flushes may overlap and take no lock the other holds: see {@link Flusher}). Flushes fall
 * due every interval on a fixed schedule, so data enqueued at time t is on disk by the due time
 * after t plus half an interval, plus the time a normal thread waits for a core and the sync takes:
 * under 1.5 * flushInterval plus that, however busy the machine is.
 *
 * <p>The timer thread also runs the arena collection: it is mostly file deletion, little CPU, and
 * it holds the collector's pass lock, which a producer at {@code maxDiskBytes} and a consumer
 * seeking back wait for: an idle-class thread must hold nothing that others wait for.
 *
 * <p><b>Shared state.</b> {@code coveredFromNs}: the start time of the latest completed periodic
 * flush (a volatile maximum); everything enqueued before it is on disk. The schedule is a pure
 * function of the start time. Everything else is confined to its thread, or final.
 */
final class Maintenance {
    private static final Logger LOG = LoggerFactory.getLogger(Maintenance.class);

    private final String name;
    private final Flusher flusher;
    private final GarbageCollector gc;
    private final RecordLog log;
    private final long flushNs;
    private final long gcNs;
    private final AtomicLong coveredFromNs = new AtomicLong();
    private long startNs;
    private volatile boolean stopped;
    private Thread flusherThread;
    private Thread timer;

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
        // Written before the threads start: Thread.start orders it before everything they do.
        startNs = System.nanoTime();
        coveredFromNs.set(startNs - flushNs);
        if (flushNs > 0) {
            flusherThread = new Thread(this::flushOnSchedule, "bigqueue-flush-" + name);
            flusherThread.setDaemon(true);
            flusherThread.start();
        }
        timer = new Thread(this::timer, "bigqueue-timer-" + name);
        timer.setDaemon(true);
        timer.start();
    }

    /** Stops both threads and waits until they have ended; the work in progress finishes first. */
    void stop() {
        stopped = true;
        join(flusherThread);
        join(timer);
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

    /** The first due time of the periodic flush after {@code now}. */
    private long nextDue(long now) {
        long k = (now - startNs) / flushNs + 1;
        return startNs + k * flushNs;
    }

    /** The idle-class flusher: a flush at every due time it gets a core for. */
    private void flushOnSchedule() {
        NativeIO.makeCurrentThreadBackground();
        long next = nextDue(System.nanoTime());
        while (!stopped) {
            long wait = next - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(this, wait);
                continue;
            }
            periodicFlush(false);
            next = nextDue(System.nanoTime());
        }
    }

    /** The normal-class timer: overdue flushes, and the arena collection. */
    private void timer() {
        long checkFlush = flushNs > 0 ? nextDue(System.nanoTime()) + flushNs / 2 : Long.MAX_VALUE;
        long nextGc = gcNs > 0 ? System.nanoTime() + gcNs : Long.MAX_VALUE;
        while (!stopped) {
            long now = System.nanoTime();
            if (now - checkFlush >= 0) {
                long due = checkFlush - flushNs / 2;
                if (coveredFromNs.get() - due < 0) {
                    // No flush that started after the due time has completed: the flusher has no core.
                    LOG.debug("queue {}: the periodic flush is overdue; the timer thread runs it", name);
                    periodicFlush(true);
                }
                checkFlush = nextDue(System.nanoTime() - flushNs / 2) + flushNs / 2;
            }
            if (now - nextGc >= 0) {
                run("arena garbage collection", gc::collect);
                nextGc = System.nanoTime() + gcNs;
            }
            long wait = Math.min(checkFlush, nextGc) - System.nanoTime();
            if (wait > 0 && !stopped) {
                LockSupport.parkNanos(this, wait);
            }
        }
    }

    private void periodicFlush(boolean fromWatchdog) {
        long startedNs = System.nanoTime();
        if (run(fromWatchdog ? "overdue periodic flush" : "periodic flush", flusher::flushInBackground)) {
            coveredFromNs.accumulateAndGet(startedNs, (a, b) -> a - b >= 0 ? a : b);
        }
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
