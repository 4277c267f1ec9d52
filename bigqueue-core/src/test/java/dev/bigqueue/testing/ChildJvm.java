package dev.bigqueue.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * A child JVM running a main class of the test classpath, for tests that need a second process: a
 * real {@code kill -9} in the middle of a write, or a second holder of a queue directory.
 *
 * <p>Its stdout is collected line by line. Only lines ended by a newline count: a child killed in
 * the middle of printing leaves a partial last line, which {@link #lines()} never returns, so a
 * child that prints an acknowledgement <em>after</em> an operation returned, and flushes, gives
 * the parent an exact list of completed operations. Stdout and stderr go to files, not pipes:
 * when a child dies, the JDK drains and closes its end of an output pipe from the process reaper
 * thread, and lines the child wrote just before it died were seen to go missing that way; bytes
 * written to a file are in the page cache the moment {@code write} returns, and a SIGKILL cannot
 * take them back.
 *
 * <p>{@link #kill()} sends SIGKILL ({@link Process#destroyForcibly()} is SIGKILL on Linux; the
 * process gets no chance to run shutdown hooks or finish a write) and waits until it is gone.
 */
public final class ChildJvm implements AutoCloseable {
    private static final int STDERR_KEEP = 64 * 1024;
    private static final long POLL_MS = 2;

    private static String snapshotClassPath;

    private final Process process;
    private final String description;
    private final Path outputDir;
    private final Path stdoutFile;
    private final Path stderrFile;
    private final List<String> lines = new ArrayList<>();
    private final StringBuilder partial = new StringBuilder();
    private long stdoutRead;

    private ChildJvm(Process process, String description, Path outputDir) {
        this.process = process;
        this.description = description;
        this.outputDir = outputDir;
        this.stdoutFile = outputDir.resolve("stdout.txt");
        this.stderrFile = outputDir.resolve("stderr.txt");
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
        cmd.add(classPath());
        // Quick start-up matters more than peak speed for these short-lived children.
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-Xmx256m");
        cmd.add("-Xss1m");
        cmd.add("-Dorg.slf4j.simpleLogger.defaultLogLevel="
                + System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn"));
        cmd.addAll(jvmOptions);
        cmd.add(mainClass.getName());
        cmd.addAll(Arrays.asList(args));
        Path outputDir = Files.createTempDirectory("childjvm-");
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectInput(ProcessBuilder.Redirect.PIPE);
        pb.redirectOutput(outputDir.resolve("stdout.txt").toFile());
        pb.redirectError(outputDir.resolve("stderr.txt").toFile());
        return new ChildJvm(pb.start(), mainClass.getSimpleName() + " " + String.join(" ", args), outputDir);
    }

    /** An action a child's main runs; it may throw anything (the child then exits non-zero). */
    public interface Action {
        void run() throws Exception;
    }

    /**
     * For a child's main: prints {@code START}, runs {@code action}, prints {@code DONE}, each line
     * flushed, so the parent can wait for either line ({@link #awaitLine}) and kill the child
     * between them or after.
     */
    public static void betweenStartAndDone(Action action) throws Exception {
        System.out.println("START");
        System.out.flush();
        action.run();
        System.out.println("DONE");
        System.out.flush();
    }

    /** Starts {@code mainClass} with the default JVM options. */
    public static ChildJvm start(Class<?> mainClass, String... args) throws IOException {
        return start(mainClass, List.of(), args);
    }

    /**
     * This JVM's classpath, with its directories (target/classes, target/test-classes) replaced by
     * a snapshot taken on first use: a build running at the same time in the same tree recompiles
     * into those directories, and a child started just then would not find its main class.
     */
    static synchronized String classPath() throws IOException {
        if (snapshotClassPath == null) {
            Path root = Files.createTempDirectory("childjvm-classpath-");
            List<String> entries = new ArrayList<>();
            int i = 0;
            for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
                Path p = Path.of(entry);
                if (Files.isDirectory(p)) {
                    Path copy = root.resolve(String.valueOf(i++));
                    QueueFiles.copyTree(p, copy);
                    entries.add(copy.toString());
                } else {
                    entries.add(entry);
                }
            }
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteQuietly(root)));
            snapshotClassPath = String.join(File.pathSeparator, entries);
        }
        return snapshotClassPath;
    }

    private static void deleteQuietly(Path root) {
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | RuntimeException e) {
            // a temp dir left behind is harmless
        }
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Every complete (newline-terminated) stdout line so far. */
    public synchronized List<String> lines() {
        readNewOutput();
        return new ArrayList<>(lines);
    }

    /**
     * Waits for a complete stdout line matching {@code match}.
     *
     * @throws AssertionError with the child's stderr if it exits or the time runs out first.
     */
    public String awaitLine(Predicate<String> match, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int seen = 0;
        for (;;) {
            boolean exited = !process.isAlive();
            List<String> now = lines();
            for (; seen < now.size(); seen++) {
                if (match.test(now.get(seen))) {
                    return now.get(seen);
                }
            }
            if (exited) {
                throw new AssertionError("child " + description + " (pid " + pid() + ") exited with "
                        + process.exitValue() + " without printing the expected line; stdout " + tail(now)
                        + "; stderr:\n" + stderr());
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("child " + description + " (pid " + pid() + ") did not print the"
                        + " expected line within " + timeout + "; stdout " + tail(now) + "; stderr:\n" + stderr());
            }
            Thread.sleep(POLL_MS);
        }
    }

    /** Waits for a complete stdout line starting with {@code prefix}. */
    public String awaitLine(String prefix, Duration timeout) throws InterruptedException {
        return awaitLine(l -> l.startsWith(prefix), timeout);
    }

    /** Sends SIGKILL and waits until the process is gone. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new AssertionError("child " + pid() + " survived SIGKILL for 30 s");
        }
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
        return process.exitValue();
    }

    /** The last 64 KiB of the child's stderr. */
    public String stderr() {
        try (FileChannel ch = FileChannel.open(stderrFile, StandardOpenOption.READ)) {
            long from = Math.max(0, ch.size() - STDERR_KEEP);
            ByteBuffer b = ByteBuffer.allocate((int) (ch.size() - from));
            while (b.hasRemaining() && ch.read(b, from + b.position()) > 0) {
                // keep reading
            }
            return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(stderr unreadable: " + e + ")";
        }
    }

    /**
     * Kills the child if it still runs, and deletes its output files. Throws no checked exception,
     * so that try-with-resources stays free of lint warnings; an interrupt is kept for the caller.
     */
    @Override
    public void close() {
        try {
            if (process.isAlive()) {
                kill();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            deleteQuietly(outputDir);
        }
    }

    private static List<String> tail(List<String> all) {
        return all.size() <= 20 ? all : all.subList(all.size() - 20, all.size());
    }

    /** Appends the complete lines written since the last call; a partial last line waits. */
    private void readNewOutput() {
        try (FileChannel ch = FileChannel.open(stdoutFile, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size <= stdoutRead) {
                return;
            }
            ByteBuffer b = ByteBuffer.allocate((int) Math.min(size - stdoutRead, 1 << 24));
            int n;
            while (b.hasRemaining() && (n = ch.read(b, stdoutRead + b.position())) > 0) {
                // keep reading
            }
            stdoutRead += b.position();
            // Children print ASCII; one byte is one char, so a split read cannot cut a character.
            for (int i = 0; i < b.position(); i++) {
                char c = (char) (b.get(i) & 0xFF);
                if (c == '\n') {
                    lines.add(partial.toString());
                    partial.setLength(0);
                } else {
                    partial.append(c);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the child's stdout " + stdoutFile, e);
        }
    }
}
