package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.bigqueue.internal.Cursor;
import dev.bigqueue.internal.FileFormat;
import dev.bigqueue.internal.Engines;
import dev.bigqueue.internal.RecordLog;
import dev.bigqueue.testing.ChildJvm;
import dev.bigqueue.testing.Payloads;
import dev.bigqueue.testing.QueueFiles;
import dev.bigqueue.testing.Soak;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guarantee 2 (process crash): after {@code kill -9} at any instant, reopening recovers every
 * message whose {@code enqueue} returned, in order, never a torn or partial message, and the
 * queue's own consumer resumes at or before where it was, never skipping a message it was not
 * handed.
 *
 * <p>A child JVM ({@link Worker}) enqueues (and in one variant also dequeues) in a loop, with
 * small arenas so that arena boundaries, length headers straddling an arena end and messages
 * spanning several arenas happen all the time, and with a background flush and GC running. It
 * prints {@code E offset} after each enqueue returned and {@code D offset crc} after each dequeue
 * returned. The parent kills it with SIGKILL at a random moment, many rounds in a row on the same
 * directory, and after each round reopens and checks, against the acknowledgement lines:
 * <ul>
 *   <li>every acknowledged enqueue is there at its offset, in order, with exact content (payloads
 *       are a function of the offset, {@link Payloads});
 *   <li>every record in the queue, acknowledged or not, is whole: at most the one enqueue in
 *       flight at the kill may appear in addition, and then complete;
 *   <li>the head is at the last message handed out or just after it (the AUTO commit rule of
 *       {@code ConsumerState}: the last handed message is redelivered, nothing is skipped);
 *   <li>the next child sees exactly the recovered head and tail.
 * </ul>
 * Every third round the parent checks a copy of the directory instead, leaving the original
 * uncleanly closed, so that the child itself recovers it and is then killed again: crash,
 * recovery, more writes, crash.
 *
 * <p>Set {@code -Dbigqueue.test.seed=N} to replay a run; the seed is in every failure message.
 */
class CrashRecoveryTest {
    private static final int MAX_MESSAGE = 20 * 1024;
    private static final int ROUNDS = Soak.rounds("bigqueue.crash.rounds", 8, 40);

    @TempDir
    Path tmp;

    @Test
    void enqueueOnly_4KiBArenas_survivesRepeatedKill9() throws Exception {
        run("enqueue", 4096, ROUNDS);
    }

    @Test
    void enqueueAndDequeue_64KiBArenas_withGc_survivesRepeatedKill9() throws Exception {
        run("mixed", 64 * 1024, ROUNDS);
    }

    private void run(String mode, int arenaSize, int rounds) throws Exception {
        long seed = Long.getLong("bigqueue.test.seed", System.nanoTime());
        Random random = new Random(seed);
        Path dir = tmp.resolve("queue");
        String ctx = "seed " + seed + ", mode " + mode + ", arenaSize " + arenaSize;
        long head = 0;
        long tail = 0;
        long totalAcked = 0;
        long totalHanded = 0;
        int inFlightRecovered = 0;
        int redelivered = 0;
        int tornCut = 0;
        for (int round = 0; round < rounds; round++) {
            String where = ctx + ", round " + round;
            List<String> lines;
            String childErr;
            try (ChildJvm child = ChildJvm.start(Worker.class, dir.toString(), String.valueOf(arenaSize), mode,
                    String.valueOf(seed))) {
                String ready = child.awaitLine("READY", Duration.ofSeconds(30));
                String[] r = ready.split(" ");
                assertEquals(head, Long.parseLong(r[1]), where + ": the child must resume at the recovered head");
                assertEquals(tail, Long.parseLong(r[2]), where + ": the child must see the recovered tail");
                Thread.sleep(50 + random.nextInt(351));
                child.kill();
                lines = child.lines();
                childErr = child.stderr();
                assertTrue(lines.stream().noneMatch(l -> l.startsWith("ERR")), where + ": child reported " + lines
                        + "\n" + child.stderr());
            }
            // What the child had done, by its acknowledgements.
            long nextEnqueue = tail;
            long nextHanded = head;
            long lastHanded = -1;
            for (String line : lines) {
                String[] f = line.split(" ");
                if (f[0].equals("E")) {
                    assertEquals(nextEnqueue, Long.parseLong(f[1]), where + ": enqueue offsets are consecutive");
                    nextEnqueue++;
                    totalAcked++;
                } else if (f[0].equals("D")) {
                    long offset = Long.parseLong(f[1]);
                    assertEquals(nextHanded, offset, where + ": dequeue hands out every offset once, in order");
                    assertEquals(Payloads.crc(Payloads.payload(seed, offset, MAX_MESSAGE)), Long.parseLong(f[2]),
                            where + ": content of the message dequeued at offset " + offset);
                    lastHanded = offset;
                    nextHanded++;
                    totalHanded++;
                }
            }
            long lastAcked = nextEnqueue - 1;
            where += " (child's last lines " + lines.subList(Math.max(0, lines.size() - 6), lines.size())
                    + (childErr.isBlank() ? "" : ", stderr:\n" + childErr) + ")";
            boolean onCopy = round % 3 == 2;
            Path check = dir;
            if (onCopy) {
                check = tmp.resolve("copy-" + round);
                QueueFiles.copyTree(dir, check);
            }
            boolean bytesAfterHint = bytesAfterTailHint(check, arenaSize);
            long hintOffset = tailHint(check)[0];
            try (BigQueue q = BigQueue.open(check, QueueConfig.builder().arenaSize(arenaSize)
                    .gcInterval(Duration.ZERO).flushInterval(Duration.ZERO).build())) {
                long recoveredTail = q.tailOffset();
                long recoveredHead = q.headOffset();
                assertTrue(recoveredTail >= lastAcked + 1, where + ": every acknowledged enqueue survives; last"
                        + " acknowledged offset " + lastAcked + ", recovered tail " + recoveredTail);
                assertTrue(recoveredTail <= lastAcked + 2, where + ": at most the one enqueue in flight appears"
                        + " unacknowledged; last acknowledged " + lastAcked + ", tail " + recoveredTail);
                if (lastHanded >= 0) {
                    assertTrue(recoveredHead == lastHanded || recoveredHead == lastHanded + 1, where
                            + ": head resumes at the last handed message (" + lastHanded + ") or the one after it"
                            + " (handed, not yet acknowledged), got " + recoveredHead);
                } else {
                    assertEquals(head, recoveredHead, where + ": nothing dequeued, the head must not move");
                }
                assertTrue(q.earliestOffset() <= recoveredHead, where + ": earliest " + q.earliestOffset()
                        + " > head " + recoveredHead + ": unconsumed messages were deleted");
                verifyEveryRecord(q, seed, where);
                if (recoveredHead < recoveredTail) {
                    assertArrayEquals(Payloads.payload(seed, recoveredHead, MAX_MESSAGE), q.peek(),
                            where + ": peek at the head");
                }
                if (bytesAfterHint && recoveredTail == hintOffset) {
                    tornCut++; // the kill came while a record was being copied; recovery cut it
                }
                if (recoveredTail == lastAcked + 2) {
                    inFlightRecovered++;
                }
                if (lastHanded >= 0 && recoveredHead == lastHanded) {
                    redelivered++;
                }
                head = recoveredHead;
                tail = recoveredTail;
            }
            if (onCopy) {
                deleteTree(check);
            }
        }
        System.out.printf("%s: %d rounds, %d enqueues and %d dequeues acknowledged; an unacknowledged enqueue was"
                + " recovered whole in %d rounds, a torn one cut in %d; the last handed message is redelivered in %d"
                + " rounds; tail %d, head %d%n",
                ctx, rounds, totalAcked, totalHanded, inFlightRecovered, tornCut, redelivered, tail, head);
        assertTrue(totalAcked > rounds, ctx + ": the child should have acknowledged many enqueues, got " + totalAcked);
        if (mode.equals("mixed")) {
            assertTrue(totalHanded > rounds, ctx + ": the child should have dequeued many messages, got "
                    + totalHanded);
        }
    }

    /**
     * A crash during recovery itself, while it deletes the arenas after the cut (they hold the rest
     * of a torn record), must leave a directory the next open recovers. The crash is stood in for
     * by an arena that cannot be deleted: a copy of it bind-mounted over it (unlink fails with
     * EBUSY, reads and writes work), so recovery stops with an error right there, as if killed.
     * Deleting from the highest arena down keeps the arena ids contiguous at every step; deleting
     * upwards leaves a hole that the next open must report as damage.
     */
    @Test
    void recoveryInterruptedWhileDeletingArenasAfterTheCut_theNextOpenRecovers() throws Exception {
        Path dir = tmp.resolve("queue");
        int arenaSize = 4096;
        int[] sizes = {300, 300, 300, 300, 300, 300, 300, 300, 300, 16_000};
        try (BigQueue q = BigQueue.open(dir, QueueConfig.builder().arenaSize(arenaSize).pretouch(false).build())) {
            for (int i = 0; i < sizes.length; i++) {
                q.enqueue(new byte[sizes[i]]);
            }
        }
        long[] pos = QueueFiles.positions(sizes);
        int last = sizes.length - 1;
        long data = FileFormat.dataBytes(arenaSize);
        long cutArena = pos[last] / data;
        long endArena = (pos[last + 1] - 1) / data;
        assertTrue(endArena >= cutArena + 3, "the torn record spans several arenas");
        long lastByte = pos[last] + FileFormat.RECORD_HEADER_SIZE + sizes[last] - 1;
        QueueFiles.writeByte(QueueFiles.arenaFileAt(dir, arenaSize, lastByte),
                QueueFiles.indexInArena(arenaSize, lastByte), (byte) 1); // torn: not the bytes written
        QueueFiles.forgeCrashBefore(dir, last, pos[last]);
        Path stuck = FileFormat.arenaFile(dir, cutArena + 2);
        Path twin = tmp.resolve("twin.dat");
        Files.copy(stuck, twin);
        assumeTrue(run("mount", "--bind", twin.toString(), stuck.toString()),
                "needs mount --bind (root) to make an arena undeletable");
        try {
            assertThrows(RuntimeException.class, () -> BigQueue.open(dir, QueueConfig.builder()
                    .arenaSize(arenaSize).build()), "recovery cannot delete " + stuck);
        } finally {
            assertTrue(run("umount", stuck.toString()), "umount " + stuck);
        }
        try (BigQueue q = BigQueue.open(dir, QueueConfig.builder().arenaSize(arenaSize).build())) {
            assertEquals(last, q.tailOffset(), "the torn record is cut");
            for (int i = 0; i < last; i++) {
                assertArrayEquals(new byte[sizes[i]], q.dequeue());
            }
            assertNull(q.dequeue());
        }
    }

    private static boolean run(String... command) throws InterruptedException {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor() == 0;
        } catch (IOException notThere) {
            return false;
        }
    }

    /** The tail hint in queue.meta as {offset, position} (what the writer published last). */
    private static long[] tailHint(Path dir) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(dir.resolve(FileFormat.META_FILE)))
                .order(ByteOrder.LITTLE_ENDIAN);
        return new long[] {b.getLong(FileFormat.META_TAIL_SLOT + FileFormat.SLOT_OFFSET),
            b.getLong(FileFormat.META_TAIL_SLOT + FileFormat.SLOT_POSITION)};
    }

    /** Whether a record header was (at least partly) written at the tail hint: a write in flight. */
    private static boolean bytesAfterTailHint(Path dir, int arenaSize) throws IOException {
        long position = tailHint(dir)[1];
        Path arena = QueueFiles.arenaFileAt(dir, arenaSize, position);
        if (!Files.exists(arena)) {
            return false;
        }
        long at = QueueFiles.indexInArena(arenaSize, position);
        return QueueFiles.readInt(arena, at) != 0 || QueueFiles.readInt(arena, at + 4) != 0;
    }

    /** Reads every record from the earliest to the tail without consuming, checking each byte. */
    private static void verifyEveryRecord(BigQueue q, long seed, String where) {
        RecordLog log = Engines.of(q).log();
        Cursor c = new Cursor();
        c.moveTo(log.earliestOffset(), log.earliestPosition());
        long expected = log.earliestOffset();
        for (;;) {
            byte[] m;
            try {
                m = Engines.of(q).reader().read(c, true);
            } catch (QueueCorruptedException e) {
                throw new AssertionError(where + ": recovered queue has a damaged record at offset " + expected, e);
            }
            if (m == null) {
                break;
            }
            byte[] want = Payloads.payload(seed, expected, MAX_MESSAGE);
            if (!Arrays.equals(want, m)) {
                fail(where + ": record at offset " + expected + " is not the message enqueued there (length "
                        + m.length + ", expected " + want.length + ")");
            }
            expected++;
        }
        assertEquals(q.tailOffset(), expected, where + ": records end at the tail");
    }

    static void deleteTree(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }

    /**
     * Child: opens the queue, prints {@code READY head tail}, then enqueues (and in mode
     * {@code mixed} dequeues) until killed, printing an acknowledgement after each operation
     * returned. Args: directory, arenaSize, mode, seed.
     */
    public static final class Worker {
        public static void main(String[] args) throws Exception {
            Path dir = Path.of(args[0]);
            int arenaSize = Integer.parseInt(args[1]);
            boolean mixed = args[2].equals("mixed");
            long seed = Long.parseLong(args[3]);
            PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false,
                    "US-ASCII");
            QueueConfig config = QueueConfig.builder()
                    .arenaSize(arenaSize)
                    .flushInterval(Duration.ofMillis(50))
                    .gcInterval(mixed ? Duration.ofMillis(20) : Duration.ZERO)
                    .maxInMemoryArenas(2)
                    .build();
            BigQueue q = BigQueue.open(dir, config);
            out.println("READY " + q.headOffset() + " " + q.tailOffset());
            out.flush();
            Random r = new Random(seed ^ System.nanoTime());
            for (long i = 0; ; i++) {
                if (!mixed || r.nextInt(10) < 6) {
                    long offset = q.tailOffset();
                    byte[] p = Payloads.payload(seed, offset, MAX_MESSAGE);
                    long got = (i & 1) == 0 ? q.enqueue(p) : q.enqueue(ByteBuffer.wrap(p));
                    if (got != offset) {
                        out.println("ERR enqueue returned " + got + ", expected " + offset);
                        out.flush();
                        System.exit(2);
                    }
                    out.println("E " + got);
                    if (out.checkError()) {
                        System.exit(4); // an acknowledgement the parent would not see
                    }
                } else {
                    long offset = q.headOffset();
                    byte[] m = q.dequeue();
                    if (m == null) {
                        continue;
                    }
                    if (!Arrays.equals(m, Payloads.payload(seed, offset, MAX_MESSAGE))) {
                        out.println("ERR dequeue at " + offset + " returned other content");
                        out.flush();
                        System.exit(3);
                    }
                    out.println("D " + offset + " " + Payloads.crc(m));
                }
                out.flush();
            }
        }
    }
}
