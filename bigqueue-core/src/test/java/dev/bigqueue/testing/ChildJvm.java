package dev.bigqueue.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A child JVM running a main class of the test classpath, for tests that need a second process: a
 * real {@code kill -9} in the middle of a write, or a second holder of a queue directory.
 *
 * <p>Its stdout is collected line by line. Only lines ended by a newline count: a child killed in
 * the middle of printing leaves a partial last line, which {@link #lines()} never returns, so a
 * child that prints an acknowledgement <em>after</em> an operation returned, and flushes, gives
 * the parent an exact list of completed operations. Its stderr is kept (the last 64 KiB) for
 * failure messages.
 *
 * <p>{@link #kill()} sends SIGKILL ({@link Process#destroyForcibly()} is SIGKILL on Linux; the
 * process gets no chance to run shutdown hooks or finish a write) and waits until it is gone.
 */
public final class ChildJvm implements AutoCloseable {
    private static final int STDERR_KEEP = 64 * 1024;

    private final Process process;
    private final String description;
    private final List<String> lines = new ArrayList<>();
    private final StringBuilder stderr = new StringBuilder();
    private final Thread outReader;
    private final Thread errReader;
    private boolean outClosed;

    private ChildJvm(Process process, String description) {
        this.process = process;
        this.description = description;
        this.outReader = daemon("child-stdout-" + process.pid(), () -> readLines(process.getInputStream()));
        this.errReader = daemon("child-stderr-" + process.pid(), () -> readStderr(process.getErrorStream()));
    }

    /**
     * Starts {@code mainClass} in a new JVM with this JVM's classpath.
     *
     * @param jvmOptions options before the class name, e.g. {@code -Xmx256m}; may be empty.
     */
    public static ChildJvm start(Class<?> mainClass, List<String> jvmOptions, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        // Quick start-up matters more than peak speed for these short-lived children.
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-Xmx256m");
        cmd.add("-Xss1m");
        cmd.add("-Dorg.slf4j.simpleLogger.defaultLogLevel="
                + System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn"));
        cmd.addAll(jvmOptions);
        cmd.add(mainClass.getName());
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectInput(ProcessBuilder.Redirect.PIPE);
        return new ChildJvm(pb.start(), mainClass.getSimpleName() + " " + String.join(" ", args));
    }

    /** Starts {@code mainClass} with the default JVM options. */
    public static ChildJvm start(Class<?> mainClass, String... args) throws IOException {
        return start(mainClass, List.of(), args);
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Every complete (newline-terminated) stdout line so far. */
    public List<String> lines() {
        synchronized (lines) {
            return new ArrayList<>(lines);
        }
    }

    /**
     * Waits for a complete stdout line matching {@code match}.
     *
     * @throws AssertionError with the child's stderr if it exits or the time runs out first.
     */
    public String awaitLine(Predicate<String> match, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (lines) {
            int seen = 0;
            for (;;) {
                for (; seen < lines.size(); seen++) {
                    if (match.test(lines.get(seen))) {
                        return lines.get(seen);
                    }
                }
                if (outClosed) {
                    throw new AssertionError("child " + description + " (pid " + pid() + ") closed stdout without"
                            + " printing the expected line; exit " + exitCodeOrRunning() + "; stdout " + lines
                            + "; stderr:\n" + stderr());
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("child " + description + " (pid " + pid() + ") did not print the"
                            + " expected line within " + timeout + "; stdout " + tail(lines) + "; stderr:\n" + stderr());
                }
                lines.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
        }
    }

    /** Waits for a complete stdout line starting with {@code prefix}. */
    public String awaitLine(String prefix, Duration timeout) throws InterruptedException {
        return awaitLine(l -> l.startsWith(prefix), timeout);
    }

    /** Sends SIGKILL and waits until the process is gone and its stdout fully read. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new AssertionError("child " + pid() + " survived SIGKILL for 30 s");
        }
        outReader.join(10_000);
        errReader.join(10_000);
    }

    /** Closes the child's stdin (a child may wait for it as its signal to finish). */
    public void closeStdin() throws IOException {
        process.getOutputStream().close();
    }

    /** Waits for a normal exit. */
    public int waitFor(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("child " + description + " (pid " + pid() + ") still running after " + timeout
                    + "; stderr:\n" + stderr());
        }
        outReader.join(10_000);
        errReader.join(10_000);
        return process.exitValue();
    }

    /** The last 64 KiB of the child's stderr. */
    public String stderr() {
        synchronized (stderr) {
            return stderr.toString();
        }
    }

    /** Kills the child if it still runs. */
    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }

    private String exitCodeOrRunning() {
        return process.isAlive() ? "still running" : String.valueOf(process.exitValue());
    }

    private static List<String> tail(List<String> all) {
        return all.size() <= 20 ? all : all.subList(all.size() - 20, all.size());
    }

    private void readLines(InputStream in) {
        StringBuilder current = new StringBuilder();
        try (Reader r = new InputStreamReader(in, StandardCharsets.UTF_8)) {
            char[] buf = new char[8192];
            int n;
            while ((n = r.read(buf)) > 0) {
                List<String> complete = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    if (buf[i] == '\n') {
                        complete.add(current.toString());
                        current.setLength(0);
                    } else {
                        current.append(buf[i]);
                    }
                }
                if (!complete.isEmpty()) {
                    synchronized (lines) {
                        lines.addAll(complete);
                        lines.notifyAll();
                    }
                }
            }
        } catch (IOException e) {
            // the child died; what was read is what counts
        } finally {
            // A partial last line (the child was killed while printing) is dropped on purpose.
            synchronized (lines) {
                outClosed = true;
                lines.notifyAll();
            }
        }
    }

    private void readStderr(InputStream in) {
        try (Reader r = new InputStreamReader(in, StandardCharsets.UTF_8)) {
            char[] buf = new char[8192];
            int n;
            while ((n = r.read(buf)) > 0) {
                synchronized (stderr) {
                    stderr.append(buf, 0, n);
                    if (stderr.length() > STDERR_KEEP) {
                        stderr.delete(0, stderr.length() - STDERR_KEEP);
                    }
                }
            }
        } catch (IOException e) {
            // the child died
        }
    }

    private static Thread daemon(String name, Runnable body) {
        Thread t = new Thread(body, name);
        t.setDaemon(true);
        t.start();
        return t;
    }
}
