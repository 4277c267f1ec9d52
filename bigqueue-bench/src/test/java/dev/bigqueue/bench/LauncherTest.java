package dev.bigqueue.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The top-level {@code ./bigqueue} launcher is an executable POSIX shell script that parses. */
class LauncherTest {
    private static final Path LAUNCHER = Path.of("..", "bigqueue");

    @Test
    void launcherIsExecutableAndParses() throws Exception {
        assertTrue(Files.isExecutable(LAUNCHER), LAUNCHER.toAbsolutePath() + " must be executable");
        Process sh = new ProcessBuilder("sh", "-n", LAUNCHER.toString()).redirectErrorStream(true).start();
        String output = new String(sh.getInputStream().readAllBytes());
        assertEquals(0, sh.waitFor(), "sh -n " + LAUNCHER + ": " + output);
    }

    @Test
    void launcherBuildsTheJarItRuns() throws Exception {
        String script = Files.readString(LAUNCHER);
        assertTrue(script.contains("bigqueue-bench/target/bigqueue.jar"), script);
        assertTrue(script.contains("./mvnw -q -B -DskipTests -pl bigqueue-bench -am package"), script);
    }
}
