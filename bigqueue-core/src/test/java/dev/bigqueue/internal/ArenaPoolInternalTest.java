package dev.bigqueue.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pool under the ArenaManager: a deleted arena's file becomes a pool file and then the next
 * arena, header rewritten (its first record and time index gone); a read-only manager that still
 * has the old arena mapped forgets it instead of reading the new arena's bytes as the old one's.
 */
class ArenaPoolInternalTest {
    private static final int ARENA_SIZE = 8192;

    @TempDir
    Path dir;

    @Test
    void deletedArena_becomesTheNextArena_withAFreshHeader_andAReaderDropsItsOldMapping() throws IOException {
        ArenaManager writer = new ArenaManager(dir, ARENA_SIZE, 0);
        ArenaManager reader = new ArenaManager(dir, ARENA_SIZE, 0, true);
        try {
            writer.setPool(ArenaPool.open(dir, ARENA_SIZE, 1, List.of()));
            writer.create(0);
            writer.create(1);
            Arena a = writer.acquire(0);
            StreamPoint first = new StreamPoint(0, 0);
            ArenaHeader.writeFirstRecord(a.buffer(), first);
            TimeIndex.writeEntry(a.buffer(), 0, 1234, 0, 0);
            int dataStart = FileFormat.arenaDataStart(ARENA_SIZE);
            a.buffer().putLong(dataStart, 0x1122334455667788L);
            writer.release(a);
            Object key = Files.readAttributes(FileFormat.arenaFile(dir, 0),
                    java.nio.file.attribute.BasicFileAttributes.class).fileKey();

            Arena seen = reader.acquire(0); // a reader in another process maps arena 0
            assertNotNull(seen);
            reader.release(seen);

            writer.delete(0);
            assertTrue(Files.exists(dir.resolve(FileFormat.poolFileName(0))), "arena 0 went to the pool");
            assertEquals(2, writer.count(), "the pooled file still counts against maxDiskBytes");
            writer.create(2);
            Path two = FileFormat.arenaFile(dir, 2);
            assertEquals(key, Files.readAttributes(two, java.nio.file.attribute.BasicFileAttributes.class).fileKey(),
                    "arena 2 is the file arena 0 was");
            assertFalse(Files.exists(dir.resolve(FileFormat.poolFileName(0))));
            assertEquals(2, writer.count());

            Arena b = writer.acquire(2);
            try {
                assertNull(ArenaHeader.firstRecord(b.buffer()), "no first record from the old arena");
                assertEquals(0, b.buffer().getLong(FileFormat.TIME_INDEX_OFFSET), "no time-index entry from it");
                assertEquals(0, b.buffer().getLong(dataStart), "its first record header is zeros");
                assertEquals(1, ArenaHeader.reuses(b.buffer()));
                assertEquals(2, b.buffer().getLong(FileFormat.ARENA_ID_OFFSET));
            } finally {
                writer.release(b);
            }
            assertNull(reader.acquire(0), "the reader's mapping of arena 0 now shows arena 2: it is gone for it");
            Arena r2 = reader.acquire(2);
            assertNotNull(r2);
            reader.release(r2);
        } finally {
            reader.close();
            writer.close();
        }
    }
}
