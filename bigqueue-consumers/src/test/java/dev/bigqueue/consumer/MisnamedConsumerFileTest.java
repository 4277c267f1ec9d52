package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.Fixtures.payload;
import static dev.bigqueue.consumer.Fixtures.small;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.testing.CapturedLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A consumer file whose name breaks the naming rule (a user's backup copy,
 * {@code billing copy.consumer}) is counted by the collector, which is the safe choice for data,
 * but no consumer can open, list or delete it. Before, it held its arenas for ever without a word:
 * {@code names()} hid it and {@code delete()} refused its name.
 */
class MisnamedConsumerFileTest {
    @TempDir
    Path dir;

    @Test
    void aMisnamedConsumerFile_keepsItsArenas_andTheCollectorWarnsOnceNamingItAndHowToRemoveIt() throws Exception {
        Path copy = dir.resolve("consumers").resolve("billing copy.consumer");
        try (BigQueue q = BigQueue.open(dir, small().toBuilder().ownConsumer(false).build());
                CapturedLog log = new CapturedLog()) {
            Consumers consumers = Consumers.of(q);
            Consumer billing = consumers.open("billing");
            for (int i = 0; i < 300; i++) {
                q.enqueueString(payload(i));
            }
            Files.copy(dir.resolve("consumers").resolve("billing.consumer"), copy); // at offset 0
            while (billing.dequeue() != null) {
                // read everything: only the copy could hold arenas now
            }
            for (int i = 0; i < 3; i++) {
                q.gc();
            }
            assertEquals(0, q.earliestOffset(), "the copy's position is counted: every arena is kept");
            assertEquals(Set.of("billing"), consumers.names());
            assertThrows(IllegalArgumentException.class, () -> consumers.delete("billing copy"));
            List<String> warnings = warnings(log);
            assertEquals(1, warnings.size(), "one WARN for the file, not one per pass: " + log.text());
            String w = warnings.get(0);
            assertTrue(w.contains(copy.toString()), w);
            assertTrue(w.contains("keeps every arena from offset 0 on"), w);
            assertTrue(w.contains("Delete the file"), w);

            Files.delete(copy);
            q.gc();
            assertTrue(q.earliestOffset() > 0, "once the copy is gone its arenas go: earliest " + q.earliestOffset());
            assertEquals(1, warnings(log).size(), log.text());
            billing.close();
        }
    }

    private static List<String> warnings(CapturedLog log) {
        return log.warnings("dev.bigqueue.").stream().filter(l -> l.contains("naming rule")).toList();
    }
}
