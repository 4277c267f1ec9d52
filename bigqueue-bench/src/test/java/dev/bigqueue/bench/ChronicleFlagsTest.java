package dev.bigqueue.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.bench.peer.ChronicleFlags;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.annotations.Fork;

/** The Chronicle flags live in four places (launcher, pom, JMH forks, ChronicleFlags); they must agree. */
class ChronicleFlagsTest {

    @Test
    void everyJmhForkOfAPeerBenchmarkPassesTheFlags() {
        for (Class<?> benchmark : List.of(EnqueueBenchmark.class, DequeueBenchmark.class, LatencyBenchmark.class)) {
            List<String> forkArgs = List.of(benchmark.getAnnotation(Fork.class).jvmArgsAppend());
            for (String flag : ChronicleFlags.jvmFlags()) {
                assertTrue(forkArgs.contains(flag), benchmark.getSimpleName() + " @Fork lacks " + flag);
            }
        }
    }

    @Test
    void launcherAndPomPassTheFlags() throws IOException {
        String launcher = Files.readString(Path.of("..", "bigqueue"));
        String pom = Files.readString(Path.of("pom.xml"));
        for (String flag : ChronicleFlags.jvmFlags()) {
            assertTrue(launcher.contains(flag), "./bigqueue lacks " + flag);
            assertTrue(pom.contains(flag), "bigqueue-bench/pom.xml lacks " + flag);
        }
    }

    @Test
    void testsRunWithTheFlags() {
        assertTrue(ChronicleFlags.present(), "surefire's argLine should carry the Chronicle flags");
    }
}
