package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.Fixtures.offsetOf;
import static dev.bigqueue.consumer.Fixtures.payload;
import static dev.bigqueue.consumer.Fixtures.small;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueClosedException;
import dev.bigqueue.QueueCorruptedException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The named-consumer API of SPEC "Named consumers", including the grandecola-style scenarios:
 * several consumers each reading everything in order, a late consumer, copy, offsets across a
 * reopen (guarantee 1 for named consumers).
 */
class ConsumersTest {
    @TempDir
    Path dir;

    private static void enqueue(BigQueue q, int count) {
        for (int i = 0; i < count; i++) {
            long offset = q.tailOffset();
            assertEquals(offset, q.enqueueString(payload(offset)));
        }
    }

    private static void expectNext(Consumer c, long offset) {
        assertEquals(offset, c.position(), c.name() + " position");
        byte[] m = c.dequeue();
        assertTrue(m != null, c.name() + " expected offset " + offset + " but the queue was empty");
        assertEquals(offset, offsetOf(m), c.name() + " got the wrong message");
    }

    @Test
    void severalConsumers_eachReadEverythingInOrder_atTheirOwnPace() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumers consumers = Consumers.of(q);
            Consumer fast = consumers.open("fast");
            Consumer slow = consumers.open("slow");
            Consumer manual = consumers.open("manual", CommitMode.MANUAL);
            long[] next = new long[3];
            Consumer[] all = {fast, slow, manual};
            int[] stride = {5, 1, 3};
            for (int round = 0; round < 400; round++) {
                enqueue(q, 4);
                for (int k = 0; k < all.length; k++) {
                    for (int i = 0; i < stride[k] && next[k] < q.tailOffset(); i++) {
                        expectNext(all[k], next[k]++);
                    }
                }
            }
            for (int k = 0; k < all.length; k++) {
                while (next[k] < q.tailOffset()) {
                    expectNext(all[k], next[k]++);
                }
                assertNull(all[k].dequeue());
                assertTrue(all[k].isEmpty());
                assertEquals(0, all[k].lag());
            }
            // The queue's own consumer is independent of the named ones.
            assertEquals(1600, q.size());
            assertEquals(0, offsetOf(q.dequeue()));
        }
    }

    @Test
    void newConsumer_startsAtTheEarliestRetainedMessage() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 500);
            Consumer early = Consumers.of(q).open("early");
            assertEquals(0, early.position());
            while (q.dequeue() != null) {
                // the own consumer reads everything, so only "early" holds arenas
            }
            for (int i = 0; i < 400; i++) {
                early.dequeue();
            }
            q.gc();
            long earliest = q.earliestOffset();
            assertTrue(earliest > 0, "gc should have deleted arenas both consumers passed");
            Consumer late = Consumers.of(q).open("late");
            assertEquals(earliest, late.position());
            assertEquals(500 - earliest, late.lag());
            for (long o = earliest; o < 500; o++) {
                expectNext(late, o);
            }
            assertNull(late.dequeue());
        }
    }

    @Test
    void copy_continuesFromTheSourceOffset_thenMovesIndependently() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 300);
            Consumers consumers = Consumers.of(q);
            Consumer billing = consumers.open("billing");
            for (int i = 0; i < 120; i++) {
                billing.dequeue();
            }
            Consumer audit = consumers.copy("audit", billing);
            assertEquals("audit", audit.name());
            assertEquals(CommitMode.AUTO, audit.commitMode());
            assertEquals(120, audit.position());
            assertEquals(120, audit.committedPosition());
            for (int i = 120; i < 200; i++) {
                expectNext(audit, i);
            }
            assertEquals(120, billing.position(), "reading the copy must not move the source");
            expectNext(billing, 120);
            audit.seekToBeginning();
            assertEquals(121, billing.position(), "seeking the copy must not move the source");
            expectNext(audit, 0);
            assertEquals(Set.of("audit", "billing"), consumers.names());
        }
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumers consumers = Consumers.of(q);
            expectNext(consumers.open("billing"), 121);
            expectNext(consumers.open("audit"), 1);
        }
    }

    @Test
    void copyOfManualConsumer_isManual_andStartsAtItsInMemoryPosition() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 50);
            Consumers consumers = Consumers.of(q);
            Consumer ledger = consumers.open("ledger", CommitMode.MANUAL);
            for (int i = 0; i < 10; i++) {
                ledger.dequeue();
            }
            Consumer copy = consumers.copy("ledger-copy", ledger);
            assertEquals(CommitMode.MANUAL, copy.commitMode());
            assertEquals(10, copy.position());
            assertEquals(10, copy.committedPosition());
            assertEquals(0, ledger.committedPosition());
        }
    }

    @Test
    void offsets_surviveCloseAndReopen() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 1000);
            Consumers consumers = Consumers.of(q);
            Consumer a = consumers.open("a");
            Consumer b = consumers.open("b");
            consumers.open("idle");
            for (int i = 0; i < 700; i++) {
                a.dequeue();
            }
            for (int i = 0; i < 33; i++) {
                b.dequeue();
            }
            // AUTO commits the last message handed out at the next dequeue, commit() or close.
            assertEquals(32, b.committedPosition());
        }
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumers consumers = Consumers.of(q);
            assertEquals(Set.of("a", "b", "idle"), consumers.names());
            Consumer a = consumers.open("a");
            Consumer b = consumers.open("b");
            Consumer idle = consumers.open("idle");
            assertEquals(700, a.committedPosition());
            expectNext(a, 700);
            expectNext(b, 33);
            expectNext(idle, 0);
            enqueue(q, 5);
            for (long o = 701; o < 1005; o++) {
                expectNext(a, o);
            }
        }
    }

    /**
     * A thread whose interrupt flag is set (a pool shutting down) can open the queue, create,
     * list and read named consumers: file channels close on interrupt, so the queue must set the
     * flag aside for its file I/O, and the caller must find it still set.
     */
    @Test
    void anInterruptedThread_opensAndReadsNamedConsumers_andKeepsItsFlag() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 50);
            Consumers.of(q).open("before").dequeue();
        }
        Thread.currentThread().interrupt();
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumers consumers = Consumers.of(q);
            assertEquals(Set.of("before"), consumers.names());
            Consumer fresh = consumers.open("fresh");
            for (long o = 0; o < 50; o++) {
                expectNext(fresh, o);
            }
            expectNext(consumers.open("before"), 1); // close committed the one it had
            assertTrue(Thread.currentThread().isInterrupted(), "the interrupt flag was cleared");
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void consumerClose_commitsAndReleases_andOpenGivesANewInstanceThere() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 20);
            Consumers consumers = Consumers.of(q);
            Consumer c = consumers.open("c");
            c.dequeue();
            c.dequeue();
            c.close();
            c.close(); // idempotent
            IllegalStateException e = assertThrows(IllegalStateException.class, c::dequeue);
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
            assertThrows(IllegalStateException.class, c::committedPosition);
            assertEquals("c", c.name());
            Consumer again = consumers.open("c");
            assertNotSame(c, again);
            expectNext(again, 2);
        }
    }

    @Test
    void of_returnsOneRegistryPerQueueInstance() {
        BigQueue q = BigQueue.open(dir, small());
        Consumers first = Consumers.of(q);
        assertSame(first, Consumers.of(q));
        Consumer c = first.open("x");
        assertSame(c, Consumers.of(q).open("x"));
        q.close();
        assertThrows(QueueClosedException.class, () -> Consumers.of(q));
        assertThrows(QueueClosedException.class, () -> first.open("x"));
        assertThrows(QueueClosedException.class, first::names);
        QueueClosedException e = assertThrows(QueueClosedException.class, c::dequeue);
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        try (BigQueue reopened = BigQueue.open(dir, small())) {
            Consumers second = Consumers.of(reopened);
            assertNotSame(first, second);
            assertEquals(Set.of("x"), second.names());
        }
    }

    @Test
    void openSameName_returnsTheSameInstance_butNotWithTheOtherMode() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumers consumers = Consumers.of(q);
            Consumer c = consumers.open("shared");
            assertSame(c, consumers.open("shared"));
            assertSame(c, consumers.open("shared", CommitMode.AUTO));
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> consumers.open("shared", CommitMode.MANUAL));
            assertTrue(e.getMessage().contains("already open with CommitMode.AUTO"), e.getMessage());
            c.close();
            Consumer m = consumers.open("shared", CommitMode.MANUAL);
            assertEquals(CommitMode.MANUAL, m.commitMode());
        }
    }

    @Test
    void seek_findsEveryOffset_acrossArenaBoundaries() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 2000);
            Consumer c = Consumers.of(q).open("seeker");
            Random r = new Random(7);
            for (int i = 0; i < 300; i++) {
                long target = r.nextInt(2000);
                c.seek(target);
                assertEquals(target, c.position());
                assertEquals(target, c.committedPosition(), "AUTO commits a seek");
                assertEquals(target, offsetOf(c.peek()));
                expectNext(c, target);
            }
            c.seek(2000);
            assertTrue(c.isEmpty());
            assertNull(c.dequeue());
            c.seekToBeginning();
            expectNext(c, 0);
            c.seekToEnd();
            assertEquals(2000, c.position());
            assertEquals(0, c.lag());
            enqueue(q, 1);
            assertEquals(1, c.lag());
            expectNext(c, 2000);
        }
    }

    /**
     * Seek must not scan the queue from the start: with the data of an early arena destroyed, a
     * seek far past it still works, because it reads only the target's arena (found through the
     * arenas' first-record index). Reading through the damage, for contrast, reports it.
     */
    @Test
    void seek_readsOnlyTheTargetsArena_notTheQueueBeforeIt() throws Exception {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 3000);
        }
        Path early = dir.resolve("arena-000000000002.dat");
        try (FileChannel ch = FileChannel.open(early, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[Fixtures.ARENA_SIZE - 64]), 64); // keep the header
        }
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumer c = Consumers.of(q).open("seeker");
            for (long target : new long[] {2999, 1500, 2000, 700, 2500}) {
                c.seek(target);
                expectNext(c, target);
            }
            c.seekToBeginning();
            assertThrows(QueueCorruptedException.class, () -> {
                for (int i = 0; i < 3000; i++) {
                    offsetOf(c.dequeue());
                }
            });
        }
    }

    @Test
    void peek_doesNotConsume_andStringsRoundTrip() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumer c = Consumers.of(q).open("p");
            assertNull(c.peek());
            assertNull(c.dequeueString());
            q.enqueueString("héllo wörld");
            q.enqueue(new byte[0]);
            assertArrayEquals("héllo wörld".getBytes(StandardCharsets.UTF_8), c.peek());
            assertEquals(0, c.position());
            assertFalse(c.isEmpty());
            assertEquals("héllo wörld", c.dequeueString());
            assertArrayEquals(new byte[0], c.dequeue());
            assertTrue(c.isEmpty());
        }
    }

    @Test
    void autoCommit_trailsByTheLastMessageHandedOut_untilCommit() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 10);
            Consumer c = Consumers.of(q).open("auto");
            assertEquals(0, c.committedPosition());
            c.dequeue();
            assertEquals(0, c.committedPosition());
            c.dequeue();
            assertEquals(1, c.committedPosition());
            c.commit();
            assertEquals(2, c.committedPosition());
        }
    }

    @Test
    void dequeueWithTimeout_wakesOnEnqueue_andTimesOut() throws Exception {
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumer c = Consumers.of(q).open("waiter");
            long start = System.nanoTime();
            assertNull(c.dequeue(Duration.ofMillis(120)));
            assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(110), "returned before the timeout");
            assertNull(c.dequeue(Duration.ZERO));
            CompletableFuture<byte[]> got = CompletableFuture.supplyAsync(() -> {
                try {
                    return c.dequeue(Duration.ofSeconds(30));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(100);
            q.enqueueString(payload(0));
            assertEquals(0, offsetOf(got.get(10, TimeUnit.SECONDS)));
            CompletableFuture<byte[]> taken = CompletableFuture.supplyAsync(() -> {
                try {
                    return c.take();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(100);
            q.enqueueString(payload(1));
            assertEquals(1, offsetOf(taken.get(10, TimeUnit.SECONDS)));
        }
    }

    @Test
    void take_endsWithAnException_whenTheQueueCloses() throws Exception {
        BigQueue q = BigQueue.open(dir, small());
        Consumer c = Consumers.of(q).open("blocked");
        CompletableFuture<byte[]> taken = CompletableFuture.supplyAsync(() -> {
            try {
                return c.take();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(150);
        q.close();
        ExecutionException e = assertThrows(ExecutionException.class, () -> taken.get(10, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof QueueClosedException, String.valueOf(e.getCause()));
    }

    @Test
    void take_endsWithAnException_whenTheConsumerIsDeleted() throws Exception {
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumers consumers = Consumers.of(q);
            Consumer c = consumers.open("doomed");
            CompletableFuture<byte[]> taken = CompletableFuture.supplyAsync(() -> {
                try {
                    return c.take();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(150);
            assertTrue(consumers.delete("doomed"));
            ExecutionException e = assertThrows(ExecutionException.class, () -> taken.get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof IllegalStateException, String.valueOf(e.getCause()));
            assertTrue(e.getCause().getMessage().contains("deleted"), e.getCause().getMessage());
        }
    }

    @Test
    void take_isInterruptible() throws Exception {
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumer c = Consumers.of(q).open("interrupted");
            CompletableFuture<Throwable> outcome = new CompletableFuture<>();
            Thread t = new Thread(() -> {
                try {
                    c.take();
                    outcome.complete(null);
                } catch (Throwable e) {
                    outcome.complete(e);
                }
            });
            t.start();
            Thread.sleep(100);
            t.interrupt();
            assertTrue(outcome.get(10, TimeUnit.SECONDS) instanceof InterruptedException);
        }
    }

    @Test
    void aConsumerCreationCutShortByACrash_leavesNoConsumer() throws Exception {
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumers.of(q).open("real");
        }
        Path tmp = dir.resolve("consumers").resolve("half.consumer.tmp");
        Files.write(tmp, new byte[17]);
        try (BigQueue q = BigQueue.open(dir, small())) {
            assertEquals(Set.of("real"), Consumers.of(q).names());
            assertFalse(Files.exists(tmp), "the leftover of an unfinished creation is removed");
            assertEquals(0, Consumers.of(q).open("half").position());
        }
    }

    @Test
    void names_listsEveryPersistedConsumer_openOrNot_andForgetsDeletedOnes() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumers consumers = Consumers.of(q);
            assertEquals(Set.of(), consumers.names());
            for (String n : List.of("b", "a", "c.1", "D_2-x")) {
                consumers.open(n);
            }
            consumers.open("a").close();
            assertEquals(List.of("D_2-x", "a", "b", "c.1"), List.copyOf(consumers.names()));
            assertTrue(consumers.delete("b"));
            assertFalse(consumers.delete("b"));
            assertFalse(consumers.delete("never-existed"));
            assertEquals(Set.of("a", "c.1", "D_2-x"), consumers.names());
        }
        try (BigQueue q = BigQueue.open(dir, small())) {
            assertEquals(Set.of("a", "c.1", "D_2-x"), Consumers.of(q).names());
        }
    }
}
