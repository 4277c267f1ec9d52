package dev.bigqueue.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Arena files: creation ahead of the writer never brings back one the collector deleted. */
class ArenaManagerTest {
    @TempDir
    Path dir;

    @Test
    void createAhead_ofAnArenaAlreadyDeleted_refuses_soNoHoleAppears() throws IOException {
        ArenaManager arenas = new ArenaManager(dir, 4096, 0);
        try {
            for (long id = 0; id < 4; id++) {
                arenas.create(id);
            }
            for (long id = 0; id < 3; id++) {
                arenas.delete(id);
            }
            // The pretoucher read the tail while the writer was in arena 1, and ran again only now,
            // after the writer had moved on to arena 3 and the collector had deleted 0..2.
            assertFalse(arenas.createAhead(1, 0));
            assertFalse(Files.exists(FileFormat.arenaFile(dir, 1)), "a deleted arena was created again");
            assertEquals(List.of(3L), arenas.ids());
            assertTrue(arenas.createAhead(3, 0));
            assertTrue(arenas.createAhead(4, 0));
            assertEquals(List.of(3L, 4L), arenas.ids());
        } finally {
            arenas.close();
        }
    }
}
