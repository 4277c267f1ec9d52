package dev.bigqueue.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.testing.Poll;
import dev.bigqueue.testing.QueueFiles;
import dev.bigqueue.testing.Threads;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guarantee 5 in a read-only queue: a mapping the reader forgets while a thread has it pinned
 * (the writer deleted its arena, or the reader drops mappings past its tail) still counts against
 * {@code maxInMemoryArenas} until its pages are gone. With a cap of 1, a second arena is mapped
 * only after the pin on the forgotten one is released; before, it was mapped at once, and the
 * process had two arenas mapped. Counted by the kernel ({@code /proc/self/maps}).
 */
class ReadOnlyMappingCapTest {
    private static final long ARENA_SIZE = 4096;

    @TempDir
    Path dir;

    @Test
    void anArenaForgottenBelowTheStart_whilePinned_staysCountedUntilItsPinIsReleased() throws Exception {
        pinForgetAndAcquireAnother(0, 1, reader -> {
            Files.delete(FileFormat.arenaFile(dir, 0)); // the writer collected it
            reader.forgetBelow(1);
        });
    }

    @Test
    void anArenaDroppedAboveTheTail_whilePinned_staysCountedUntilItsPinIsReleased() throws Exception {
        pinForgetAndAcquireAnother(1, 0, reader -> reader.unmapAbove(0));
    }

    private void pinForgetAndAcquireAnother(long pinned, long next, Forget forget) throws Exception {
        ArenaManager writer = new ArenaManager(dir, ARENA_SIZE, 0);
        for (long id = 0; id < 2; id++) {
            writer.create(id);
        }
        writer.close();
        ArenaManager reader = new ArenaManager(dir, ARENA_SIZE, 1, true);
        Arena held = reader.acquire(pinned);
        assertNotNull(held);
        CompletableFuture<Arena> second = new CompletableFuture<>();
        try {
            forget.apply(reader);
            assertEquals(1, QueueFiles.mappedArenaFiles(dir), "the forgotten arena stays mapped while pinned");

            Thread other = new Thread(() -> {
                try {
                    second.complete(reader.acquire(next));
                } catch (Throwable t) {
                    second.completeExceptionally(t);
                }
            }, "second-reader");
            other.start();
            // Either it mapped at once (the bug) or it waits for the pin: both end this wait.
            Poll.until(() -> second.isDone() || Threads.waitingIn(other, "ArenaManager", "acquireLocked"), null,
                    Duration.ofSeconds(60),
                    () -> "second reader in state " + other.getState());
            int mappedMeanwhile = QueueFiles.mappedArenaFiles(dir);
            assertEquals(1, mappedMeanwhile, "with maxInMemoryArenas(1), two arenas were mapped at once");
            assertEquals(1, reader.mappedCount());

            reader.release(held);
            held = null;
            Poll.until(second::isDone, null, Duration.ofSeconds(60), () -> "second reader at "
                    + java.util.Arrays.toString(other.getStackTrace()));
            Arena got = second.join();
            assertNotNull(got, "arena " + next + " is still on disk");
            assertEquals(next, got.id);
            assertEquals(1, QueueFiles.mappedArenaFiles(dir));
            assertEquals(1, reader.peakMapped());
        } finally {
            // Release every pin, also when an assertion failed, or close would wait for them.
            if (held != null) {
                reader.release(held);
            }
            Arena got = second.getNow(null);
            if (got != null) {
                reader.release(got);
            }
            reader.close();
        }
        assertEquals(0, QueueFiles.mappedArenaFiles(dir), "close unmaps everything");
    }

    @Test
    void aForgottenArena_isNotHandedOutAgain_andItsPagesGoWithTheLastPin() throws IOException {
        ArenaManager writer = new ArenaManager(dir, ARENA_SIZE, 0);
        writer.create(0);
        writer.create(1);
        writer.close();
        ArenaManager reader = new ArenaManager(dir, ARENA_SIZE, 2, true);
        try {
            Arena held = reader.acquire(0);
            Files.delete(FileFormat.arenaFile(dir, 0));
            reader.forgetBelow(1);
            assertNull(reader.acquire(0), "the writer deleted arena 0 (its start moved past it)");
            assertTrue(held.buffer().capacity() > 0, "the pinned mapping stays readable");
            assertEquals(1, reader.mappedCount());
            reader.release(held);
            assertEquals(0, reader.mappedCount());
            assertEquals(0, QueueFiles.mappedArenaFiles(dir));
        } finally {
            reader.close();
        }
    }

    /** What the reader learns about the writer's files while a thread has an arena pinned. */
    private interface Forget {
        void apply(ArenaManager reader) throws IOException;
    }
}
