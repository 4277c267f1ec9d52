package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.testing.ChildJvm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guarantee 8 (ownership): a queue directory is open in one place at a time; a second open, in
 * this process or another, fails at once naming the directory and the holder's pid; a holder
 * killed with {@code kill -9} does not block the next open.
 */
class OwnershipTest {
    /**
     * Not a speed bound (the machine may be busy): the holder keeps the lock until after the
     * refused open has returned, so an open that waited for the lock would never return; this only
     * turns such a hang into a failure.
     */
    private static final Duration NO_WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    @Test
    void secondOpenInThisProcess_failsAtOnce_namingDirectoryAndPid() throws IOException {
        try (BigQueue q = BigQueue.open(dir)) {
            q.enqueueString("kept");
            long start = System.nanoTime();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> BigQueue.open(dir));
            assertFast(start);
            assertNamesDirectoryAndPid(e, ProcessHandle.current().pid());
            // Through another spelling of the same directory too.
            Path other = dir.resolve(".").resolve("..").resolve(dir.getFileName().toString());
            assertThrows(IllegalStateException.class, () -> BigQueue.open(other));
            // The failed opens changed nothing for the holder.
            q.enqueueString("still works");
            assertEquals("kept", q.dequeueString());
        }
        // Closed: the next open succeeds and sees everything.
        try (BigQueue q = BigQueue.open(dir)) {
            assertEquals("still works", q.dequeueString());
        }
    }

    @Test
    void openInAnotherProcess_failsAtOnce_namingTheChildsPid() throws Exception {
        try (ChildJvm holder = ChildJvm.start(Holder.class, dir.toString())) {
            holder.awaitLine("OPEN", Duration.ofSeconds(30));
            long start = System.nanoTime();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> BigQueue.open(dir));
            assertFast(start);
            assertNamesDirectoryAndPid(e, holder.pid());
            assertTrue(e.getMessage().contains("another process"), e.getMessage());
            // Once the holder closes normally, we get it, with its message.
            holder.closeStdin();
            assertEquals(0, holder.waitFor(Duration.ofSeconds(30)), holder.stderr());
        }
        try (BigQueue q = BigQueue.open(dir)) {
            assertEquals("from child", q.dequeueString());
        }
    }

    @Test
    void holderKilledWithSigkill_doesNotBlockTheNextOpen() throws Exception {
        for (int round = 0; round < 2; round++) {
            try (ChildJvm holder = ChildJvm.start(Holder.class, dir.toString())) {
                holder.awaitLine("OPEN", Duration.ofSeconds(30));
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> BigQueue.open(dir));
                assertNamesDirectoryAndPid(e, holder.pid());
                holder.kill();
            }
            // The stale pid is still in queue.lock, but the OS lock died with the holder.
            long start = System.nanoTime();
            try (BigQueue q = BigQueue.open(dir)) {
                assertFast(start);
                assertEquals("from child", q.dequeueString());
                assertEquals(null, q.dequeueString());
            }
            String pid = Files.readString(dir.resolve("queue.lock"), StandardCharsets.US_ASCII).trim();
            assertEquals(String.valueOf(ProcessHandle.current().pid()), pid, "the last opener's pid");
        }
    }

    private static void assertFast(long startNanos) {
        Duration took = Duration.ofNanos(System.nanoTime() - startNanos);
        assertTrue(took.compareTo(NO_WAIT) < 0, "an open must not wait for the lock's holder, took " + took);
    }

    private void assertNamesDirectoryAndPid(IllegalStateException e, long pid) throws IOException {
        String msg = e.getMessage();
        assertTrue(msg.contains(dir.toRealPath().toString()), "names the directory: " + msg);
        assertTrue(msg.contains("pid " + pid), "names the holder's pid " + pid + ": " + msg);
    }

    /** Child: opens the queue, enqueues one message, prints OPEN, holds it until stdin closes. */
    public static final class Holder {
        public static void main(String[] args) throws IOException {
            try (BigQueue q = BigQueue.open(Path.of(args[0]))) {
                if (q.isEmpty()) {
                    q.enqueueString("from child");
                }
                System.out.println("OPEN " + ProcessHandle.current().pid());
                System.out.flush();
                while (System.in.read() >= 0) {
                    // hold the queue until the parent closes our stdin
                }
            }
        }
    }
}
