package dev.bigqueue.bench.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The probe runs with and without its consumer (so it cannot rot) and leaves nothing behind. */
class StallProbeTest {
    @TempDir
    Path tmp;

    @Test
    void runsWithAndWithoutAConsumer_andCleansUp() throws Exception {
        assertNotNull(StallProbe.run(1000, 20_000, 100_000, true, tmp));
        assertNotNull(StallProbe.run(0, 20_000, 100_000, false, tmp));
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(0, s.count(), "queues left behind");
        }
    }
}
