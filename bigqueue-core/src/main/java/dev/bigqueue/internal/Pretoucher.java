package dev.bigqueue.internal;

import dev.bigqueue.QueueClosedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A background thread that keeps the pages ahead of the writer mapped and writable, and creates
 * the next arena before the writer needs it. Writing into fresh pages of a file mapping costs a
 * page fault per 4 KiB (the kernel allocates, zeroes and maps the page), which bounds a writer at
 * about 2 GB/s whatever the memcpy speed; arena creation costs an fallocate and two fsyncs. Done
 * here, neither lands on an enqueue.
 *
 * <p>Pre-faulting uses {@code madvise(MADV_POPULATE_WRITE)}, which never changes data, so it is
 * safe even when the writer overtakes it. It maps at most the writer's arena and the next one,
 * through the {@link ArenaManager}, so the {@code maxInMemoryArenas} cap holds; with a cap below
 * 3 it stays within the writer's arena, leaving a mapping for readers. Arenas made ahead count
 * against {@code maxDiskBytes}: none is made if it would pass the cap.
 */
final class Pretoucher implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(Pretoucher.class);
    static final long AHEAD_BYTES = 8L << 20;
    private static final int CHUNK_BYTES = 1 << 20;
    private static final long IDLE_PARK_NS = 2_000_000;
    private static final long RATE_WINDOW_NS = 10_000_000;
    /** A slow writer wakes the thread once per this many bytes written, to measure its rate again. */
    static final long RATE_PROBE_BYTES = 4L << 20;
    /** A bound on that sleep, so that a queue closed without {@link #stop()} still ends the thread. */
    private static final long SLOW_WRITER_MAX_PARK_NS = 1_000_000_000;
    /** After an arena could not be made ahead (a full disk): how long before trying again. */
    private static final long RETRY_AFTER_FAILURE_NS = 1_000_000_000;
    private static final double FAST_WRITER_BYTES_PER_S = 64e6;

    private final RecordLog log;
    private final Appender appender;
    private final ArenaManager arenas;
    private final long maxArenas;
    private final int mappingCap;
    private final String name;
    /** Set by {@link #start()}, before the thread runs; read by the writer to wake it. */
    private volatile Thread thread;
    private volatile boolean stopped;
    /** Stream position up to which pages have been pre-faulted; pretoucher-owned. */
    private long touchedUpTo;
    /** When {@link #touchAhead()} says AHEAD: the tail position worth waking up for. */
    private long wakeMark;
    private long sampleTail;
    private long sampleTimeNs = System.nanoTime();
    /** Whether the writer wrote at least FAST_WRITER_BYTES_PER_S in the last window. */
    private boolean fastWriter;
    /** The last failure to prepare ahead, until a round succeeds (one WARN per spell); this thread only. */
    private Exception refused;

    Pretoucher(RecordLog log, Appender appender, long maxArenas, int mappingCap, String name) {
        this.log = log;
        this.appender = appender;
        this.arenas = log.arenas();
        this.maxArenas = maxArenas;
        this.mappingCap = mappingCap;
        this.name = name;
    }

    /** Starts the thread; once, by open, after everything else is in place. */
    void start() {
        Thread t = new Thread(this, name);
        t.setDaemon(true);
        thread = t;
        t.start();
    }

    /** Called by the writer when the tail passed the wake mark. */
    void wake() {
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    /** Stops the thread and waits until it has ended (its step in progress is short). */
    void stop() {
        stopped = true;
        Thread t = thread;
        if (t == null) {
            return;
        }
        ThreadEnd.await(t, true);
    }

    @Override
    public void run() {
        NativeIO.makeCurrentThreadBackground();
        try {
            while (!stopped && !log.isClosed()) {
                try {
                    step();
                    refused = null;
                } catch (IOException | UncheckedIOException e) {
                    // A full disk (most likely) passes: the writer makes the arena itself when it needs
                    // it and reports the error then; this thread looks again after a while.
                    if (refused == null && !stopped && !log.isClosed()) {
                        LOG.warn("queue {}: cannot prepare the next arena ahead ({}); trying again every {} s",
                                log.directory(), e.toString(), RETRY_AFTER_FAILURE_NS / 1_000_000_000);
                    }
                    refused = e;
                    appender.setPretouchWakeAt(Long.MAX_VALUE, this);
                    LockSupport.parkNanos(this, RETRY_AFTER_FAILURE_NS);
                }
            }
        } catch (QueueClosedException closing) {
            // the queue closed under us: nothing left to prepare
        } catch (RuntimeException e) {
            if (!stopped && !log.isClosed()) {
                LOG.warn("queue {}: pretouching stopped ({}); enqueues take their own page faults from now on",
                        log.directory(), e.toString());
            }
        } finally {
            appender.setPretouchWakeAt(Long.MAX_VALUE, null);
        }
    }

    /** One round: the next arena made if due, then the pages ahead of the writer touched or a park. */
    private void step() throws IOException {
        sampleWriteRate();
        prepareNextArena();
        if (!fastWriter) {
            // A slow writer takes its own page faults (a microsecond per 4 KiB page); waking
            // up to pre-fault for it, or on a timer to watch its rate, would only take a core
            // from the application: on a 2-core machine every wake-up preempts a thread that
            // the application may be spinning on. So sleep until the writer itself says it
            // has gone far enough to be measured again, or to need the next arena.
            long mark = slowWriterWakeMark(log.tailPosition());
            appender.setPretouchWakeAt(mark, this);
            if (log.tailPosition() < mark && !stopped) {
                LockSupport.parkNanos(this, SLOW_WRITER_MAX_PARK_NS);
            }
            return;
        }
        int outcome = touchAhead();
        if (outcome == AHEAD) {
            long mark = wakeMark;
            appender.setPretouchWakeAt(mark, this);
            if (log.tailPosition() < mark) {
                LockSupport.parkNanos(this, IDLE_PARK_NS);
            }
        } else if (outcome == BLOCKED) {
            // The next arena cannot be made or mapped yet: look again shortly.
            appender.setPretouchWakeAt(Long.MAX_VALUE, this);
            LockSupport.parkNanos(this, IDLE_PARK_NS);
        }
    }

    /**
     * Measures the write rate over windows of at least {@link #RATE_WINDOW_NS} (a slow writer's
     * window runs from one wake-up to the next, {@link #RATE_PROBE_BYTES} apart). Pre-faulting pays
     * only for a writer faster than {@link #FAST_WRITER_BYTES_PER_S}; below that, on a machine
     * with few cores, the extra thread costs latency (it preempts the application's threads).
     */
    private void sampleWriteRate() {
        long now = System.nanoTime();
        long elapsed = now - sampleTimeNs;
        if (elapsed >= RATE_WINDOW_NS) {
            long tail = log.tailPosition();
            fastWriter = (tail - sampleTail) * 1_000_000_000.0 / elapsed >= FAST_WRITER_BYTES_PER_S;
            sampleTail = tail;
            sampleTimeNs = now;
        }
    }

    /**
     * Where a slow writer at {@code tail} next needs this thread: after {@link #RATE_PROBE_BYTES}
     * more bytes (to measure its rate), or at the half-way point of its arena (to create the next
     * one), whichever comes first.
     */
    private long slowWriterWakeMark(long tail) {
        long id = log.arenaOf(tail);
        long half = log.arenaStart(id) + log.dataBytesPerArena() / 2;
        long nextHalf = tail < half ? half : log.arenaStart(id + 1) + log.dataBytesPerArena() / 2;
        return Math.min(tail + RATE_PROBE_BYTES, nextHalf);
    }

    /**
     * Creates the tail's arena if it is missing (a new queue: the first enqueue would otherwise
     * wait for it), and the next one once the writer is half-way through, whatever its speed.
     */
    private void prepareNextArena() throws IOException {
        long tail = log.tailPosition();
        long id = log.arenaOf(tail);
        if (!arenas.exists(id)) {
            arenas.createAhead(id, maxArenas);
        } else if (tail - log.arenaStart(id) >= log.dataBytesPerArena() / 2) {
            arenas.createAhead(id + 1, maxArenas);
        }
    }

    private static final int PROGRESSED = 0;
    private static final int AHEAD = 1;
    private static final int BLOCKED = 2;

    /** Pre-faults up to one chunk. */
    private int touchAhead() throws IOException {
        long tail = log.tailPosition();
        if (touchedUpTo < tail) {
            touchedUpTo = tail;
        }
        if (touchedUpTo >= tail + AHEAD_BYTES) {
            wakeMark = touchedUpTo - AHEAD_BYTES / 2;
            return AHEAD;
        }
        long tailArena = log.arenaOf(tail);
        long id = log.arenaOf(touchedUpTo);
        long furthest = mappingCap == 0 || mappingCap >= 3 ? tailArena + 1 : tailArena;
        if (id > furthest) {
            wakeMark = log.arenaStart(tailArena + 1);
            return AHEAD;
        }
        if (!arenas.createAhead(id, maxArenas)) {
            return BLOCKED;
        }
        Arena a = arenas.acquire(id);
        if (a == null) {
            return BLOCKED;
        }
        try {
            int from = log.indexInArena(touchedUpTo);
            int arenaEnd = log.arenaEnd();
            int length = Math.min(CHUNK_BYTES, arenaEnd - from);
            if (!NativeIO.populateWrite(a.buffer(), from, length)) {
                stopped = true;
                return BLOCKED;
            }
            touchedUpTo += length;
            return PROGRESSED;
        } finally {
            arenas.release(a);
        }
    }
}
