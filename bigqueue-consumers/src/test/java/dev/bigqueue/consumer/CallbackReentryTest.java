package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.Fixtures.offsetOf;
import static dev.bigqueue.consumer.Fixtures.payload;
import static dev.bigqueue.consumer.Fixtures.small;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.WhenFull;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Application code that a consumer runs (a drainTo sink, a read handler, a requeue step) must not
 * read, move or commit that same consumer: the nested call fails at once and changes nothing, so
 * the outer call's "the refused message is the next one" stays true. Each test here failed before
 * that rule: a message came twice, a consumer committed itself back into a collected arena and
 * could not be opened again, a close waited for ever, a refused message was committed.
 */
class CallbackReentryTest {
    /** Bounds a wait that only a hang would reach. */
    private static final long HANG_MS = 60_000;

    @TempDir
    Path dir;

    private static void enqueue(BigQueue q, int count) {
        for (int i = 0; i < count; i++) {
            q.enqueueString(payload(q.tailOffset()));
        }
    }

    /** Every call that reads, moves or commits, as made from inside the consumer's own callback. */
    private static Map<String, Consumer<dev.bigqueue.consumer.Consumer>> nestedCalls() {
        return Map.ofEntries(
                Map.entry("dequeue", c -> c.dequeue()),
                Map.entry("dequeue(timeout)", c -> {
                    try {
                        c.dequeue(Duration.ofMillis(1));
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                }),
                Map.entry("peek", c -> c.peek()),
                Map.entry("drainTo", c -> c.drainTo(new ArrayList<>(), 5)),
                Map.entry("read", c -> c.read((o, b) -> { }, 5)),
                Map.entry("requeue", c -> c.requeue(m -> m)),
                Map.entry("commit", c -> c.commit()),
                Map.entry("seek", c -> c.seek(0)),
                Map.entry("seekToBeginning", c -> c.seekToBeginning()),
                Map.entry("seekToEnd", c -> c.seekToEnd()));
    }

    @Test
    void everyReadingCall_fromInsideItsOwnSinkHandlerOrStep_failsAndChangesNothing() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 40);
            Consumers consumers = Consumers.of(q);
            for (Map.Entry<String, Consumer<dev.bigqueue.consumer.Consumer>> call : nestedCalls().entrySet()) {
                for (String where : List.of("drainTo sink", "read handler", "requeue step")) {
                    dev.bigqueue.consumer.Consumer c = consumers.open("c");
                    long before = c.position();
                    AtomicReference<RuntimeException> nested = new AtomicReference<>();
                    Runnable inside = () -> {
                        try {
                            call.getValue().accept(c);
                        } catch (RuntimeException e) {
                            nested.set(e);
                        }
                    };
                    switch (where) {
                        case "drainTo sink" -> c.drainTo(new ArrayList<>() {
                            @Override
                            public boolean add(byte[] m) {
                                inside.run();
                                return super.add(m);
                            }
                        }, 1);
                        case "read handler" -> c.read((o, b) -> inside.run(), 1);
                        default -> c.requeue(m -> {
                            inside.run();
                            return null;
                        });
                    }
                    String what = call.getKey() + " inside a " + where;
                    assertNotNull(nested.get(), what + " was allowed");
                    assertTrue(nested.get() instanceof IllegalStateException
                            && nested.get().getMessage().contains("inside its own " + where)
                            && nested.get().getMessage().contains("'c'"), what + ": " + nested.get());
                    assertEquals(before + 1, c.position(), what + ": the outer call handled exactly its one message");
                    c.close();
                }
            }
        }
    }

    @Test
    void aSinkThatTriesToDequeueThenRefuses_getsItsMessageAgain_andEveryMessageComesOnce() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 30);
            dev.bigqueue.consumer.Consumer c = Consumers.of(q).open("c");
            List<Long> got = new ArrayList<>();
            List<byte[]> refusing = new ArrayList<>() {
                @Override
                public boolean add(byte[] m) {
                    assertThrows(IllegalStateException.class, c::dequeue);
                    throw new IllegalArgumentException("refused");
                }
            };
            assertThrows(IllegalArgumentException.class, () -> c.drainTo(refusing, 1));
            for (byte[] m = c.dequeue(); m != null; m = c.dequeue()) {
                got.add(offsetOf(m));
            }
            List<Long> expected = new ArrayList<>();
            for (long i = 0; i < 30; i++) {
                expected.add(i);
            }
            assertEquals(expected, got, "each message once, in order, the refused one first");
        }
    }

    /**
     * The nested dequeue used to carry the committed position into the next arena, a collection
     * deleted the one before, and the outer refusal then committed the cursor back into it: the
     * consumer failed as damaged, now and after every reopen.
     */
    @Test
    void aRefusalAfterACollection_leavesTheConsumerUsable_andAcrossReopen() {
        QueueConfig config = QueueConfig.builder().arenaSize(4096).gcInterval(Duration.ZERO)
                .flushInterval(Duration.ZERO).ownConsumer(false).build();
        String pad = "x".repeat(900);
        try (BigQueue q = BigQueue.open(dir, config)) {
            for (int i = 0; i < 30; i++) {
                q.enqueueString(i + "|" + pad);
            }
            dev.bigqueue.consumer.Consumer c = Consumers.of(q).open("c");
            List<byte[]> sink = new ArrayList<>() {
                @Override
                public boolean add(byte[] m) {
                    for (int i = 0; i < 10; i++) {
                        assertThrows(IllegalStateException.class, c::dequeue);
                    }
                    q.gc();
                    throw new IllegalArgumentException("refused");
                }
            };
            assertThrows(IllegalArgumentException.class, () -> c.drainTo(sink, 1));
            assertEquals("0|" + pad, c.dequeueString());
        }
        try (BigQueue q = BigQueue.open(dir, config)) {
            assertNotNull(Consumers.of(q).open("c").dequeue(), "the consumer opens and reads after a reopen");
        }
    }

    @Test
    void closingItsOwnConsumerFromInsideAHandlerThatThenRefuses_doesNotCommitTheRefusedMessage() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 3);
            Consumers consumers = Consumers.of(q);
            dev.bigqueue.consumer.Consumer c = consumers.open("c");
            assertThrows(IllegalArgumentException.class, () -> c.read((o, b) -> {
                c.close();
                throw new IllegalArgumentException("refused");
            }, 1));
            assertEquals(0, consumers.open("c").position(), "the refused message 0 counts as not consumed");
        }
    }

    @Test
    void closingItsOwnConsumerFromInsideASinkThatReturns_failsTheDrainAsClosed_andLosesNothing() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 5);
            Consumers consumers = Consumers.of(q);
            dev.bigqueue.consumer.Consumer c = consumers.open("c");
            List<byte[]> sink = new ArrayList<>() {
                @Override
                public boolean add(byte[] m) {
                    c.close();
                    return super.add(m);
                }
            };
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> c.drainTo(sink, 5));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
            assertEquals(1, sink.size());
            assertEquals(0, consumers.open("c").position(), "closed without its final commit: at least once");
        }
    }

    /** A nested call used to clear the flag that lets close pass a sink running application code. */
    @Test
    void queueClose_doesNotWaitForASinkThatBlocks_afterItTriedANestedRead() throws Exception {
        BigQueue q = BigQueue.open(dir, small());
        try {
            enqueue(q, 5);
            dev.bigqueue.consumer.Consumer c = Consumers.of(q).open("c");
            CountDownLatch inSink = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            List<byte[]> sink = new ArrayList<>() {
                @Override
                public boolean add(byte[] m) {
                    try {
                        c.read((o, b) -> { }, 1); // refused now; it used to clear the flag close looks at
                    } catch (IllegalStateException refused) {
                        // expected
                    }
                    inSink.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                    return super.add(m);
                }
            };
            AtomicReference<Throwable> drained = new AtomicReference<>();
            Thread drainer = new Thread(() -> {
                try {
                    c.drainTo(sink, 1);
                } catch (Throwable t) {
                    drained.set(t);
                }
            });
            drainer.start();
            inSink.await();
            Thread closer = new Thread(q::close);
            closer.start();
            closer.join(HANG_MS);
            boolean hung = closer.isAlive();
            release.countDown();
            drainer.join();
            closer.join();
            assertFalse(hung, "queue.close() waited for a sink running application code");
            assertTrue(drained.get() instanceof IllegalStateException, String.valueOf(drained.get()));
        } finally {
            q.close();
        }
    }

    /**
     * A requeue's append waits for room at maxDiskBytes with BLOCK, holding the consumer's lock:
     * closing that consumer must not wait for it, or a close inside {@code Consumers}' lock waits for
     * room that only {@code Consumers.delete} of the consumer holding the oldest arena could make,
     * which waits for that lock.
     */
    @Test
    void consumerClose_doesNotWaitForARequeueWhoseAppendWaitsForRoom() throws Exception {
        QueueConfig.Builder config = QueueConfig.builder().arenaSize(4096).gcInterval(Duration.ZERO)
                .flushInterval(Duration.ZERO).ownConsumer(false).maxDiskBytes(4L * 4096);
        byte[] message = new byte[200];
        try (BigQueue q = BigQueue.open(dir, config.whenFull(WhenFull.FAIL).build())) {
            Consumers consumers = Consumers.of(q);
            consumers.open("behind").close();
            consumers.open("ahead").close();
            assertThrows(dev.bigqueue.QueueFullException.class, () -> {
                for (;;) {
                    q.enqueue(message);
                }
            });
        }
        try (BigQueue q = BigQueue.open(dir, config.whenFull(WhenFull.BLOCK).build())) {
            Consumers consumers = Consumers.of(q);
            dev.bigqueue.consumer.Consumer ahead = consumers.open("ahead");
            for (int i = 0; i < 40; i++) {
                assertNotNull(ahead.dequeue()); // past the oldest arena, which "behind" still holds
            }
            AtomicReference<Throwable> requeued = new AtomicReference<>();
            Thread requeuer = new Thread(() -> {
                try {
                    ahead.requeue(m -> new byte[3000]);
                } catch (Throwable t) {
                    requeued.set(t);
                }
            });
            requeuer.start();
            // Wait until the append waits for room (a condition, not a time).
            while (requeuer.isAlive() && !Lifetime.isInside(requeuer, ".DiskSpace", "awaitRoom")) {
                Thread.onSpinWait();
            }
            assertTrue(requeuer.isAlive(), "the append did not wait: " + requeued.get());
            Thread closer = new Thread(ahead::close);
            closer.start();
            closer.join(HANG_MS);
            if (closer.isAlive()) {
                q.close(); // fails the append, so that the closer and the requeue end
                closer.join();
                requeuer.join();
                throw new AssertionError("Consumer.close() waited for a requeue whose append waited for room");
            }
            assertTrue(consumers.delete("behind"), "the room comes from deleting the consumer holding it");
            requeuer.join(HANG_MS);
            assertFalse(requeuer.isAlive(), "the requeue's append never got the room");
            assertTrue(requeued.get() instanceof IllegalStateException
                    && requeued.get().getMessage().contains("closed"), String.valueOf(requeued.get()));
            assertEquals(39, consumers.open("ahead").position(), "closed without its final commit: at least once");
        }
    }

    @Test
    void otherConsumersAndTheQueue_stayUsableFromInsideASink() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 4);
            Consumers consumers = Consumers.of(q);
            dev.bigqueue.consumer.Consumer a = consumers.open("a");
            dev.bigqueue.consumer.Consumer b = consumers.open("b");
            List<Long> fromB = new ArrayList<>();
            List<byte[]> sink = new ArrayList<>() {
                @Override
                public boolean add(byte[] m) {
                    fromB.add(offsetOf(b.dequeue()));
                    q.enqueueString(payload(q.tailOffset()));
                    return super.add(m);
                }
            };
            assertEquals(2, a.drainTo(sink, 2));
            assertEquals(List.of(0L, 1L), fromB);
            assertEquals(6, q.tailOffset());
        }
    }
}
