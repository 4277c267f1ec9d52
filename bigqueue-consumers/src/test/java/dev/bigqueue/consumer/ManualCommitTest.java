package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.Fixtures.offsetOf;
import static dev.bigqueue.consumer.Fixtures.payload;
import static dev.bigqueue.consumer.Fixtures.small;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.testing.ChildJvm;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link CommitMode#MANUAL}: messages dequeued but not committed come again after a close/reopen
 * and after {@code kill -9}; committed ones never do. AUTO, for contrast, repeats at most the last
 * message after a kill (guarantee 2).
 */
class ManualCommitTest {
    @TempDir
    Path dir;

    private static void enqueue(BigQueue q, int count) {
        for (int i = 0; i < count; i++) {
            q.enqueueString(payload(q.tailOffset()));
        }
    }

    private static void expectRun(Consumer c, long from, long to) {
        for (long o = from; o < to; o++) {
            byte[] m = c.dequeue();
            assertTrue(m != null, c.name() + ": offset " + o + " is missing");
            assertEquals(o, offsetOf(m), c.name());
        }
    }

    @Test
    void dequeueMovesOnlyTheInMemoryPosition_untilCommit() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 30);
            Consumer m = Consumers.of(q).open("ledger", CommitMode.MANUAL);
            expectRun(m, 0, 10);
            assertEquals(10, m.position());
            assertEquals(0, m.committedPosition());
            m.commit();
            assertEquals(10, m.committedPosition());
            expectRun(m, 10, 15);
            m.seek(25); // forward: not committed
            assertEquals(10, m.committedPosition());
        }
    }

    @Test
    void drainTo_manualMovesOnlyThePosition_autoCommitsABatchAtTheNextCall() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 30);
            Consumers consumers = Consumers.of(q);
            Consumer ledger = consumers.open("ledger", CommitMode.MANUAL);
            List<byte[]> batch = new ArrayList<>();
            assertEquals(10, ledger.drainTo(batch, 10));
            assertEquals(10, ledger.position());
            assertEquals(0, ledger.committedPosition());
            ledger.commit();
            assertEquals(10, ledger.committedPosition());
            Consumer auto = consumers.open("auto");
            assertEquals(10, auto.drainTo(batch, 10));
            assertEquals(0, auto.committedPosition(), "a crash now must deliver the whole batch again");
            assertEquals(5, auto.drainTo(batch, 5));
            assertEquals(10, auto.committedPosition());
            assertEquals(25, batch.size());
            for (int i = 0; i < 25; i++) {
                assertEquals(i < 10 ? i : i - 10, offsetOf(batch.get(i)));
            }
        }
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumers consumers = Consumers.of(q);
            assertEquals(10, consumers.open("ledger", CommitMode.MANUAL).position());
            assertEquals(15, consumers.open("auto").position(), "a close commits everything handed out");
        }
    }

    @Test
    void drainTo_aSinkThatReadsTheSameConsumer_isRefused_andItsMessageIsTheNextOne() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 10);
            Consumer c = Consumers.of(q).open("reentrant");
            List<byte[]> sink = new ArrayList<>() {
                @Override
                public boolean add(byte[] m) {
                    c.dequeue(); // refused: a sink must not read the consumer running it
                    return super.add(m);
                }
            };
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> c.drainTo(sink, 2));
            assertTrue(e.getMessage().contains("inside its own drainTo sink"), e.getMessage());
            assertEquals(0, c.position(), "the sink refused message 0 by throwing: it is the next one");
            assertEquals(0, c.committedPosition());
            List<byte[]> batch = new ArrayList<>();
            assertEquals(2, c.drainTo(batch, 2));
            assertEquals(0, offsetOf(batch.get(0)));
            assertEquals(1, offsetOf(batch.get(1)));
        }
    }

    @Test
    void uncommittedMessagesComeAgainAfterReopen_committedOnesNever() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 100);
            Consumer m = Consumers.of(q).open("ledger", CommitMode.MANUAL);
            expectRun(m, 0, 40);
            m.commit();
            expectRun(m, 40, 70); // handed out, never committed
        }
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumer m = Consumers.of(q).open("ledger", CommitMode.MANUAL);
            assertEquals(40, m.position());
            assertEquals(40, m.committedPosition());
            expectRun(m, 40, 60);
            m.close(); // closing a MANUAL consumer does not commit either
            m = Consumers.of(q).open("ledger", CommitMode.MANUAL);
            expectRun(m, 40, 100);
            m.commit();
            assertNull(m.dequeue());
        }
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumer m = Consumers.of(q).open("ledger", CommitMode.MANUAL);
            assertEquals(100, m.position());
            assertNull(m.dequeue());
        }
    }

    @Test
    void commitOffset_commitsExactlyThePrefixBeforeIt_andSurvivesReopen() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 600); // several arenas, and records that span them (Fixtures.payload)
            Consumer m = Consumers.of(q).open("ledger", CommitMode.MANUAL);
            expectRun(m, 0, 500);
            m.commit(7);
            assertEquals(7, m.committedPosition());
            m.commit(7); // again: nothing moves
            m.commit(219); // past the 9000-byte record at 218, which spans arenas
            assertEquals(219, m.committedPosition());
            assertEquals(500, m.position(), "a commit does not move the position");
            m.commit(433);
        }
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumer m = Consumers.of(q).open("ledger", CommitMode.MANUAL);
            assertEquals(433, m.position(), "a restart resumes at the committed offset");
            expectRun(m, 433, 600);
            m.commit(600);
            assertNull(m.dequeue());
        }
    }

    @Test
    void commitOffset_outsideCommittedToPosition_isRefusedNamingTheRange() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 30);
            Consumer m = Consumers.of(q).open("ledger", CommitMode.MANUAL);
            expectRun(m, 0, 20);
            m.commit(10);
            IllegalArgumentException back = assertThrows(IllegalArgumentException.class, () -> m.commit(9));
            assertTrue(back.getMessage().contains("cannot commit offset 9")
                    && back.getMessage().contains("between the committed position 10 and the position 20"),
                    back.getMessage());
            IllegalArgumentException ahead = assertThrows(IllegalArgumentException.class, () -> m.commit(21));
            assertTrue(ahead.getMessage().contains("cannot commit offset 21"), ahead.getMessage());
            assertEquals(10, m.committedPosition(), "a refused commit changes nothing");
            m.commit(20);
            assertEquals(20, m.committedPosition());
        }
    }

    @Test
    void commitOffset_afterSeekBack_commitsFromTheNewPoint() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 300);
            Consumer m = Consumers.of(q).open("ledger", CommitMode.MANUAL);
            expectRun(m, 0, 250);
            m.commit(240);
            m.seek(100); // back before the commit: committed at once
            assertEquals(100, m.committedPosition());
            expectRun(m, 100, 230);
            m.commit(225);
        }
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumer m = Consumers.of(q).open("ledger", CommitMode.MANUAL);
            expectRun(m, 225, 300);
        }
    }

    @Test
    void afterKill9_manualResumesAtItsCommit_autoRepeatsOnlyTheLastMessage() throws Exception {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 100);
        }
        ChildJvm child = ChildJvm.start(CrashChild.class, "manual", dir.toString());
        try {
            // The child read 25 messages with each consumer and committed "ledger" after 20.
            assertEquals("DONE 25 20", child.awaitLine("DONE", Duration.ofSeconds(60)));
            child.kill();
        } finally {
            child.close();
        }
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumers consumers = Consumers.of(q);
            Consumer ledger = consumers.open("ledger", CommitMode.MANUAL);
            assertEquals(20, ledger.position(), "uncommitted 20..24 must come again, committed 0..19 never");
            expectRun(ledger, 20, 100);
            Consumer auto = consumers.open("auto");
            assertEquals(24, auto.position(), "AUTO commits a message at the next dequeue: only 24 comes again");
            expectRun(auto, 24, 100);
        }
    }
}
