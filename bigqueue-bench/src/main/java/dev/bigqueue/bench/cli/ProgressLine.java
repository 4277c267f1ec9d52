package dev.bigqueue.bench.cli;

import dev.bigqueue.bench.run.BenchSuite;
import dev.bigqueue.bench.run.Units;
import java.io.PrintWriter;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The progress of a long command on stderr, in one of two forms.
 *
 * <ul>
 * <li>On a terminal: one line redrawn in place, {@code [#####.......]  3/20  12.5 s  write+read 4 KB
 *     tape (2.1 s)}, its clock moving every half second while a step runs (a ticker thread), each
 *     redraw erasing the rest of the line (ANSI "erase in line"), cut to the terminal's width so it
 *     never wraps, and erased when the work ends.
 * <li>Anywhere else (a pipe, a file, a CI log): one plain line per step, {@code [ 3/20  12.5 s]
 *     write+read 4 KB tape}, with no control characters.
 * </ul>
 *
 * <p>Only the launcher can tell whether stderr is a terminal ({@code [ -t 2 ]}); it says so with
 * {@code -Dbigqueue.stderrIsTerminal=true}, and without it the plain form is used.
 * <b>Threads:</b> {@link #step} and the ticker may run at once; both draw under this object's lock.
 */
final class ProgressLine implements BenchSuite.Progress, AutoCloseable {
    /** Set by the launcher when stderr is a terminal. */
    static final String TERMINAL_PROPERTY = "bigqueue.stderrIsTerminal";
    private static final String ERASE_TO_END = "\u001b[K";
    private static final int BAR_WIDTH = 20;

    private final PrintWriter err;
    private final boolean terminal;
    private final int columns;
    private final LongSupplier nanoClock;
    private final long startedNs;
    private ScheduledExecutorService ticker;
    /** Guarded by this. */
    private int done;
    /** Guarded by this. */
    private int total;
    /** Guarded by this; null before the first step. */
    private String what;
    /** Guarded by this. */
    private long stepStartedNs;
    /** Guarded by this. */
    private boolean closed;

    ProgressLine(PrintWriter err, boolean terminal, int columns, LongSupplier nanoClock) {
        this.err = err;
        this.terminal = terminal;
        this.columns = Math.max(20, columns);
        this.nanoClock = nanoClock;
        this.startedNs = nanoClock.getAsLong();
    }

    /** For stderr as the launcher describes it, with a ticker on a terminal. */
    static ProgressLine forStderr(PrintWriter err) {
        boolean terminal = Boolean.getBoolean(TERMINAL_PROPERTY);
        int columns = 80;
        try {
            columns = Integer.parseInt(System.getenv().getOrDefault("COLUMNS", "80").trim());
        } catch (NumberFormatException e) {
            // Keep 80.
        }
        ProgressLine progress = new ProgressLine(err, terminal, columns, System::nanoTime);
        if (terminal) {
            progress.startTicker();
        }
        return progress;
    }

    private void startTicker() {
        ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "bigqueue-progress");
            thread.setDaemon(true);
            return thread;
        });
        ticker.scheduleAtFixedRate(this::tick, 500, 500, TimeUnit.MILLISECONDS);
    }

    @Override
    public synchronized void step(int done, int total, String what) {
        if (closed) {
            return;
        }
        this.done = done;
        this.total = total;
        this.what = what;
        this.stepStartedNs = nanoClock.getAsLong();
        if (terminal) {
            redraw();
        } else {
            err.println(String.format("[%" + digits(total) + "d/%d %7s] %s", done, total,
                    seconds(stepStartedNs - startedNs), what));
            err.flush();
        }
    }

    /** Redraws the terminal line with the time now; the ticker calls it. */
    synchronized void tick() {
        if (terminal && !closed && what != null) {
            redraw();
        }
    }

    private void redraw() {
        long now = nanoClock.getAsLong();
        int filled = total == 0 ? BAR_WIDTH : done * BAR_WIDTH / total;
        String line = "[" + "#".repeat(filled) + ".".repeat(BAR_WIDTH - filled) + "] "
                + String.format("%" + digits(total) + "d/%d", done, total) + "  " + seconds(now - startedNs) + "  "
                + what + (done < total ? " (" + seconds(now - stepStartedNs) + ")" : "");
        if (line.length() > columns - 1) {
            line = line.substring(0, columns - 4) + "...";
        }
        err.print("\r" + line + ERASE_TO_END);
        err.flush();
    }

    /** Time since this display was made, by the clock its lines show: {@code 12.5 s}. */
    String elapsed() {
        return seconds(nanoClock.getAsLong() - startedNs);
    }

    /** Stops the ticker and, on a terminal, erases the line; the caller prints the outcome. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            if (terminal && what != null) {
                err.print("\r" + ERASE_TO_END);
                err.flush();
            }
        }
        if (ticker != null) {
            ticker.shutdownNow();
        }
    }

    private static int digits(int n) {
        return Integer.toString(Math.max(0, n)).length();
    }

    private static String seconds(long ns) {
        return Units.seconds(ns);
    }
}
