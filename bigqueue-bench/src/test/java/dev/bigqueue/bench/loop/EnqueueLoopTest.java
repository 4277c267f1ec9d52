package dev.bigqueue.bench.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.QueueConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The loops run (so they cannot rot) and leave nothing behind. */
class EnqueueLoopTest {
    @TempDir
    Path tmp;

    @Test
    void enqueueLoop_printsMeanMedianAndP10PerRound_andCleansUp() throws IOException {
        checkRounds(EnqueueLoop.run(10_000, 2, 128, tmp), 3);
    }

    @Test
    void dequeueLoop_printsMedianAndP10PerRound_andCleansUp() throws IOException {
        checkRounds(DequeueLoop.run(100, 2, 128, tmp, QueueConfig.defaults()), 2);
    }

    @Test
    void pageWriteProbe_printsOnePassPerLine_andCleansUp() throws IOException {
        assertEquals(3, PageWriteProbe.run(8, tmp, 1).size());
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(0, s.count(), "probe file left behind");
        }
    }

    private void checkRounds(String[] rounds, int figures) throws IOException {
        assertEquals(2, rounds.length);
        for (String r : rounds) {
            String[] f = r.split("/");
            assertEquals(figures, f.length, r);
            for (String x : f) {
                assertTrue(Double.parseDouble(x) > 0, r);
            }
        }
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(0, s.count(), "queues left behind");
        }
    }
}
