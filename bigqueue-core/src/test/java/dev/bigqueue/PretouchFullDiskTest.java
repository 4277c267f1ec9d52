package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.internal.FileFormat;
import dev.bigqueue.testing.Poll;
import dev.bigqueue.testing.SmallTmpfs;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The thread that makes the next arena ahead of the writer outlives a full disk: it used to end
 * at the first arena it could not make, so for the rest of the open every arena was made, and
 * every page faulted, in the writer's path. Now it tries again after a while, and once there is
 * room it makes the next arena before the writer needs it. Real small tmpfs.
 */
class PretouchFullDiskTest {
    private static final long ARENA = 256 * 1024;

    @Test
    void theArenaAheadIsMadeOnceTheDiskHasRoomAgain() throws Exception {
        try (SmallTmpfs fs = SmallTmpfs.mount(1024 * 1024)) {
            Path dir = fs.path().resolve("q");
            QueueConfig c = QueueConfig.builder().arenaSize(ARENA).gcInterval(Duration.ZERO).pretouch(true).build();
            try (BigQueue q = BigQueue.open(dir, c)) {
                q.enqueue(new byte[10_000]); // arena 0 exists from here on
                Path filler = fs.path().resolve("filler");
                try (OutputStream out = Files.newOutputStream(filler)) {
                    while (true) {
                        out.write(new byte[4096]);
                    }
                } catch (IOException full) {
                    // no room left for another arena
                }
                // Past half of arena 0 (reserved when made, so these writes need no room): arena 1 is due.
                for (int i = 0; i < 13; i++) {
                    q.enqueue(new byte[10_000]);
                }
                Thread pretoucher = Thread.getAllStackTraces().keySet().stream()
                        .filter(t -> t.getName().startsWith("bigqueue-pretouch")).findFirst().orElse(null);
                assertNotNull(pretoucher, "no pretouch thread");
                Path next = FileFormat.arenaFile(dir, 1);
                // It tried, failed for lack of room, and waits to try again (or, before, ended).
                Poll.until(() -> !pretoucher.isAlive() || waitingAfterAFailure(pretoucher), null,
                        Duration.ofSeconds(60), () -> "pretoucher at " + Arrays.toString(pretoucher.getStackTrace()));
                assertTrue(pretoucher.isAlive(), "the pretouch thread ended at the first full disk");
                Files.delete(filler);
                Poll.until(() -> Files.exists(next), null, Duration.ofSeconds(60),
                        () -> "arena 1 not made ahead; pretoucher " + pretoucher.getState() + " at "
                                + Arrays.toString(pretoucher.getStackTrace()));
            }
        }
    }

    /** Parked in its loop between rounds (not within a round): where it waits after a failed one. */
    private static boolean waitingAfterAFailure(Thread t) {
        StackTraceElement[] stack = t.getStackTrace();
        boolean inRun = false;
        for (StackTraceElement e : stack) {
            if (e.getClassName().endsWith("Pretoucher") && e.getMethodName().equals("step")) {
                return false;
            }
            inRun |= e.getClassName().endsWith("Pretoucher") && e.getMethodName().equals("run");
        }
        return inRun && t.getState() == Thread.State.TIMED_WAITING;
    }
}
