package dev.bigqueue.bench.cli;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The {@code bigqueue} command in a child JVM, for tests that need what only a real process has: its
 * own standard output (a pipe whose reader goes away, /dev/full, a file size limit) or its own
 * privileges. Unlike {@code dev.bigqueue.testing.ChildJvm}, which always sends stdout to a file, the
 * caller chooses every redirect on the returned {@link ProcessBuilder}; stderr goes to a file.
 */
final class CliProcess {
    /** Generous: a busy machine may be slow to start a JVM, and nothing here waits on a clock to pass. */
    static final long EXIT_TIMEOUT_SECONDS = 120;

    private CliProcess() {
    }

    /**
     * A process builder for {@code [prefix...] java ... Main args...}, its stderr sent to {@code stderr}.
     *
     * @param prefix a command that runs java, e.g. {@code prlimit --fsize=N}; may be empty.
     */
    static ProcessBuilder builder(List<String> prefix, Path stderr, String... args) {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        // Quick start-up matters more than peak speed; no hsperfdata file (the file size tests).
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-XX:-UsePerfData");
        cmd.add("-Xmx256m");
        if (Runtime.version().feature() >= 24) {
            // What the ./bigqueue launcher passes there: else the JVM warns on stderr (jnr-ffi's
            // native calls, the Unsafe memory methods), and the tests read stderr.
            cmd.add("--enable-native-access=ALL-UNNAMED");
            cmd.add("--sun-misc-unsafe-memory-access=allow");
        }
        cmd.add(Main.class.getName());
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder builder = new ProcessBuilder(cmd);
        builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        builder.redirectError(stderr.toFile());
        return builder;
    }

    /** Waits for the exit code; fails the test, killing the child, if it runs past the timeout. */
    static int exitCode(Process process, Path stderr) throws InterruptedException, IOException {
        if (!process.waitFor(EXIT_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
            throw new AssertionError("bigqueue still running after " + EXIT_TIMEOUT_SECONDS + " s; stderr:\n"
                    + Files.readString(stderr, StandardCharsets.UTF_8));
        }
        return process.exitValue();
    }
}
