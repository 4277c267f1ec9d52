package dev.bigqueue.consumer;

import dev.bigqueue.testing.ChildJvm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs a child JVM of the lifetime tests to its end and turns every way it can go wrong into an
 * assertion message that says what happened: a JVM crash (exit 134, with the head of its
 * {@code hs_err} file), a failure the child reported (its {@code FAIL}/{@code STALL} lines and
 * thread dump), or a hang, detected by a generous deadline, with a thread dump taken by
 * {@code jcmd} before the child is killed. The deadline only detects hangs: a busy machine makes
 * a child slower, never makes it fail.
 */
final class Children {
    /** Lines a child prints from where it reports a failure on (FAIL, STALL, a thread dump). */
    static final String[] FAILURE_MARKERS = {"FAIL", "STALL"};
    private static final int TAIL_LINES = 30;
    private static final int MAX_REPORT_LINES = 3000;

    private Children() {
    }

    /**
     * JVM options for a child: its crash report goes to {@code errorDir} (not the module
     * directory), no core dump, only errors logged; plus {@code -Dkey=value} for each of
     * {@code properties}.
     */
    static List<String> options(Path errorDir, String... properties) {
        List<String> o = new ArrayList<>();
        o.add("-XX:ErrorFile=" + errorDir.resolve("hs_err_pid%p.log"));
        o.add("-XX:-CreateCoredumpOnCrash");
        o.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=error");
        for (String p : properties) {
            o.add("-D" + p);
        }
        return o;
    }

    /** Integer system property {@code name}, or {@code def}. */
    static int intProperty(String name, int def) {
        return Integer.parseInt(System.getProperty(name, Integer.toString(def)));
    }

    /**
     * Waits for {@code child} to exit and returns its stdout lines.
     *
     * @throws AssertionError if it exits with anything but 0, or runs on without printing a line
     *     for {@code hangTimeout} (then with a thread dump of it).
     */
    static List<String> runToEnd(ChildJvm child, Duration hangTimeout, Path errorDir, String context)
            throws InterruptedException {
        // A hang is silence, not slowness: the deadline moves with every line the child prints, so a
        // child that keeps reporting rounds on a crowded machine is never called hung.
        long deadline = System.nanoTime() + hangTimeout.toNanos();
        int seen = 0;
        while (child.isAlive() && System.nanoTime() - deadline < 0) {
            Thread.sleep(50);
            int now = child.lines().size();
            if (now != seen) {
                seen = now;
                deadline = System.nanoTime() + hangTimeout.toNanos();
            }
        }
        if (child.isAlive()) {
            String dump = threadDumpOf(child);
            child.kill();
            throw new AssertionError("HANG: " + context + ": the child (pid " + child.pid() + ") printed nothing"
                    + " for " + hangTimeout + "; its thread dump (jcmd Thread.print -l) before it was killed:\n"
                    + dump + "\nits output:" + report(child.lines()) + "\nits stderr:\n" + child.stderr());
        }
        int exit = child.waitFor(Duration.ofSeconds(30));
        List<String> lines = child.lines();
        if (exit != 0) {
            String crash = crashReport(errorDir, child.pid());
            // A JVM that crashes with -XX:-CreateCoredumpOnCrash exits with 1 and leaves an hs_err file.
            throw new AssertionError((crash.isEmpty() ? "FAILED: " : "JVM CRASH: ") + context + ": the child (pid "
                    + child.pid() + ") exited with " + exit + describeExit(exit) + crash + "\nits output:"
                    + report(lines) + "\nits stderr:\n" + child.stderr());
        }
        return lines;
    }

    private static String describeExit(int exit) {
        if (exit == 134) {
            return " (SIGABRT: the JVM hit a fatal error)";
        }
        if (exit == Watchdog.STALL_EXIT) {
            return " (its watchdog saw no progress: a deadlock or livelock, thread dump below)";
        }
        return exit > 128 ? " (killed by signal " + (exit - 128) + ")" : "";
    }

    /** The head of the child's hs_err file, which names the signal and the problematic frame. */
    private static String crashReport(Path errorDir, long pid) {
        Path file = errorDir.resolve("hs_err_pid" + pid + ".log");
        if (!Files.exists(file)) {
            return "";
        }
        try {
            List<String> all = Files.readAllLines(file, StandardCharsets.ISO_8859_1);
            StringBuilder s = new StringBuilder("\nhs_err (" + file + "):");
            int shown = 0;
            boolean inStack = false;
            for (String line : all) {
                // The header (signal, problematic frame) and the native/Java frames of the crashing thread.
                boolean header = shown < 25;
                if (line.startsWith("Native frames:") || line.startsWith("Java frames:")) {
                    inStack = true;
                } else if (line.isEmpty()) {
                    inStack = false;
                }
                if (header || inStack) {
                    s.append("\n  ").append(line);
                    shown++;
                }
                if (shown > 120) {
                    break;
                }
            }
            return s.toString();
        } catch (IOException e) {
            return "\nhs_err file " + file + " unreadable: " + e;
        }
    }

    /** The lines from the first failure marker on (bounded), else the last lines. */
    static String report(List<String> lines) {
        int from = Math.max(0, lines.size() - TAIL_LINES);
        for (int i = 0; i < lines.size(); i++) {
            if (isFailureLine(lines.get(i))) {
                from = Math.min(from, Math.max(0, i - 3));
                break;
            }
        }
        StringBuilder s = new StringBuilder();
        if (from > 0) {
            s.append("\n  (").append(from).append(" earlier lines)");
        }
        int to = Math.min(lines.size(), from + MAX_REPORT_LINES);
        for (int i = from; i < to; i++) {
            s.append("\n  ").append(lines.get(i));
        }
        if (to < lines.size()) {
            s.append("\n  (").append(lines.size() - to).append(" more lines)");
        }
        return s.toString();
    }

    private static boolean isFailureLine(String line) {
        for (String m : FAILURE_MARKERS) {
            if (line.startsWith(m) || line.contains(" " + m + " ")) {
                return true;
            }
        }
        return false;
    }

    /** {@code jcmd PID Thread.print -l}; if that fails, SIGQUIT (the dump then goes to its stdout). */
    static String threadDumpOf(ChildJvm child) throws InterruptedException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        try {
            Path out = Files.createTempFile("jcmd-", ".txt");
            try {
                Process p = new ProcessBuilder(jcmd.toString(), Long.toString(child.pid()), "Thread.print", "-l")
                        .redirectErrorStream(true).redirectOutput(out.toFile()).start();
                if (p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) {
                    return Files.readString(out, StandardCharsets.ISO_8859_1);
                }
                p.destroyForcibly();
                String failed = Files.readString(out, StandardCharsets.ISO_8859_1);
                return "(jcmd failed: " + failed + ")\n" + sigquitDump(child);
            } finally {
                Files.deleteIfExists(out);
            }
        } catch (IOException e) {
            return "(jcmd unavailable: " + e + ")\n" + sigquitDump(child);
        }
    }

    private static String sigquitDump(ChildJvm child) throws InterruptedException {
        int before = child.lines().size();
        try {
            new ProcessBuilder("kill", "-3", Long.toString(child.pid())).inheritIO().start().waitFor();
        } catch (IOException e) {
            return "(kill -3 failed too: " + e + ")";
        }
        // Give the JVM a moment to print the dump; this wait only shapes a failure message.
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        List<String> now = child.lines();
        while (System.nanoTime() - until < 0
                && now.subList(before, now.size()).stream().noneMatch(l -> l.startsWith("JNI global refs"))) {
            Thread.sleep(100);
            now = child.lines();
        }
        return String.join("\n", now.subList(before, now.size()));
    }

    /** Deletes a directory tree; what cannot be deleted is left behind. */
    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a leftover temp directory is harmless
        }
    }
}
