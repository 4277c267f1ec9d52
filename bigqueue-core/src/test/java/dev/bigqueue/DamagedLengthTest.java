package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.bigqueue.internal.FileFormat;
import dev.bigqueue.testing.ChildJvm;
import dev.bigqueue.testing.QueueFiles;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A damaged length field must be reported as damage, never decide an allocation: a reader used to
 * allocate what the field said before the checksum could say it was wrong, so one flipped word
 * made an open (recovery) or a dequeue fail with {@code OutOfMemoryError} on a small heap, instead
 * of cutting the tail or naming the damaged record. Each case runs in a child JVM with a 48 MB heap.
 */
class DamagedLengthTest {
    /** Bounds the wait for a child JVM to answer; a busy machine can slow its start a lot. */
    private static final Duration TIMEOUT = Duration.ofMinutes(5);

    @TempDir
    Path tmp;

    /** Opens args[0]; with "read", dequeues until the queue is empty or a read fails; prints what happened. */
    public static final class Child {
        public static void main(String[] args) {
            try (BigQueue q = BigQueue.open(Path.of(args[0]), QueueConfig.builder().arenaSize(Long.parseLong(args[1]))
                    .build())) {
                System.out.println("OPENED tail=" + q.tailOffset());
                if (args.length > 2) {
                    int n = 0;
                    try {
                        while (q.dequeue() != null) {
                            n++;
                        }
                        System.out.println("READ " + n);
                    } catch (QueueCorruptedException e) {
                        System.out.println("DAMAGE after " + n + ": " + e.getMessage());
                    }
                }
            } catch (Throwable t) {
                System.out.println("FAILED " + t);
            }
        }
    }

    private static String run(Path dir, long arenaSize, String... more) throws Exception {
        String[] args = new String[2 + more.length];
        args[0] = dir.toString();
        args[1] = Long.toString(arenaSize);
        System.arraycopy(more, 0, args, 2, more.length);
        try (ChildJvm child = ChildJvm.start(Child.class, List.of("-Xmx48m"), args)) {
            assertEquals(0, child.waitFor(TIMEOUT), child.stderr());
            return String.join("\n", child.lines());
        }
    }

    @Test
    void aDamagedLengthAfterTheDurablePoint_isCutByRecovery_onASmallHeap() throws Exception {
        Path dir = tmp.resolve("q");
        long arenaSize = 128L << 20; // recovery's bound on a length is the end of the last arena
        try (BigQueue q = BigQueue.open(dir, QueueConfig.builder().arenaSize(arenaSize).flushInterval(Duration.ZERO)
                .pretouch(false).build())) {
            for (int i = 0; i < 6; i++) {
                q.enqueue(new byte[100]);
            }
        }
        int[] sizes = new int[6];
        Arrays.fill(sizes, 100);
        long[] pos = QueueFiles.positions(sizes);
        QueueFiles.forgeCrashAfterFlush(dir, 2, pos[2]);
        QueueFiles.writeInt(FileFormat.arenaFile(dir, 0), QueueFiles.indexInArena(arenaSize, pos[3]), 100_000_000);
        String out = run(dir, arenaSize);
        assertEquals("OPENED tail=3", out, "recovery cuts at the damaged record");
    }

    @Test
    void aDamagedLengthInsideTheLog_isReportedAsDamageByTheRead_onASmallHeap() throws Exception {
        Path dir = tmp.resolve("q");
        long arenaSize = 16L << 20;
        int size = 1 << 20;
        int count = 64; // 64 MB of log after the damaged record: its new length fits inside the log
        try (BigQueue q = BigQueue.open(dir, QueueConfig.builder().arenaSize(arenaSize).flushInterval(Duration.ZERO)
                .pretouch(false).build())) {
            for (int i = 0; i < count; i++) {
                q.enqueue(new byte[size]);
            }
        }
        int[] sizes = new int[count];
        Arrays.fill(sizes, size);
        long[] pos = QueueFiles.positions(sizes);
        QueueFiles.writeInt(QueueFiles.arenaFileAt(dir, arenaSize, pos[3]), QueueFiles.indexInArena(arenaSize, pos[3]),
                58_000_000); // more than the whole 48 MB heap
        String out = run(dir, arenaSize, "read");
        assertEquals("OPENED tail=" + count, out.lines().findFirst().orElse(""), out);
        String read = out.lines().skip(1).findFirst().orElse("");
        assertEquals("DAMAGE after 3", read.split(":")[0], out);
    }
}
