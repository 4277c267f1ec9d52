package dev.bigqueue.bench.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The loop runs (so it cannot rot) and leaves nothing behind. */
class EnqueueLoopTest {
    @TempDir
    Path tmp;

    @Test
    void printsOneFigurePerRound_andCleansUp() throws IOException {
        String[] rounds = EnqueueLoop.run(10_000, 2, 128, tmp);
        assertEquals(2, rounds.length);
        for (String r : rounds) {
            assertTrue(Double.parseDouble(r) > 0, r);
        }
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(0, s.count(), "queues left behind");
        }
    }
}
