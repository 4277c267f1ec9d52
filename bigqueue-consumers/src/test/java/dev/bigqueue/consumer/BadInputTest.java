package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.Fixtures.offsetOf;
import static dev.bigqueue.consumer.Fixtures.payload;
import static dev.bigqueue.consumer.Fixtures.small;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueClosedException;
import dev.bigqueue.QueueCorruptedException;
import dev.bigqueue.internal.ConsumerFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Bad input to the named-consumer API: each gives a clear exception and leaves nothing stored
 * damaged (issue #3, "Bad input").
 */
class BadInputTest {
    private static final List<String> BAD_NAMES = List.of("", ".", "..", ".hidden", "-x", "_x", "a/b", "a\\b", "a b",
            "a:b", "tab\t", "caf\u00e9", "x".repeat(201), "../escape", "a\u0000b");

    @TempDir
    Path dir;

    private static void enqueue(BigQueue q, int count) {
        for (int i = 0; i < count; i++) {
            q.enqueueString(payload(q.tailOffset()));
        }
    }

    private static void assertRejected(String name, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call, "name '" + name + "'");
        String shown = name.length() > 60 ? name.substring(0, 60) : name;
        assertTrue(e.getMessage().contains("'" + shown), "message should quote the name: " + e.getMessage());
        assertTrue(e.getMessage().contains("1..200 characters"), "message should state the rule: " + e.getMessage());
    }

    @Test
    void badNames_areRejectedByEveryMethod_withTheRuleAndTheName() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumers consumers = Consumers.of(q);
            dev.bigqueue.consumer.Consumer source = consumers.open("source");
            for (String bad : BAD_NAMES) {
                assertRejected(bad, () -> consumers.open(bad));
                assertRejected(bad, () -> consumers.open(bad, CommitMode.MANUAL));
                assertRejected(bad, () -> consumers.copy(bad, source));
                assertRejected(bad, () -> consumers.delete(bad));
            }
            assertThrows(NullPointerException.class, () -> consumers.open(null));
            assertEquals(Set.of("source"), consumers.names(), "no file may be created for a rejected name");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"a", "0", "Z9", "a.b_c-d", "billing.v2", "x..y"})
    void goodNames_areAccepted(String name) {
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumers consumers = Consumers.of(q);
            assertEquals(name, consumers.open(name).name());
            assertEquals(Set.of(name), consumers.names());
        }
    }

    @Test
    void nameOf200Characters_isAccepted_andSurvivesReopen() {
        String longest = "n" + "x".repeat(199);
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumers.of(q).open(longest);
        }
        try (BigQueue q = BigQueue.open(dir, small())) {
            assertEquals(Set.of(longest), Consumers.of(q).names());
        }
    }

    @Test
    void nullArguments_throwNullPointerException() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumers consumers = Consumers.of(q);
            dev.bigqueue.consumer.Consumer c = consumers.open("c");
            assertThrows(NullPointerException.class, () -> Consumers.of(null));
            assertThrows(NullPointerException.class, () -> consumers.open("c", null));
            assertThrows(NullPointerException.class, () -> consumers.copy("d", null));
            assertThrows(NullPointerException.class, () -> c.dequeue(null));
            assertThrows(NullPointerException.class, () -> c.requeue(null));
        }
    }

    @Test
    void seekOutsideTheQueue_isRejected_andTheConsumerStaysPut() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 600);
            Consumers consumers = Consumers.of(q);
            dev.bigqueue.consumer.Consumer c = consumers.open("c");
            c.seek(100);
            for (long bad : new long[] {-1, 601, Long.MAX_VALUE, Long.MIN_VALUE}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.seek(bad));
                assertTrue(e.getMessage().contains("[0, 600]"), e.getMessage());
                assertEquals(100, c.position());
                assertEquals(100, c.committedPosition());
            }
            // Below the earliest retained message, after GC deleted arenas.
            while (q.dequeue() != null) {
                // let the own consumer release everything
            }
            c.seek(590);
            q.gc();
            long earliest = q.earliestOffset();
            assertTrue(earliest > 0);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.seek(earliest - 1));
            assertTrue(e.getMessage().contains("earliest retained is " + earliest), e.getMessage());
            c.seek(earliest);
            assertEquals(earliest, offsetOf(c.dequeue()));
        }
    }

    @Test
    void deletedConsumer_throwsSayingItWasDeleted() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 5);
            Consumers consumers = Consumers.of(q);
            dev.bigqueue.consumer.Consumer c = consumers.open("gone");
            c.dequeue();
            assertTrue(consumers.delete("gone"));
            for (Executable call : everyOperation(c)) {
                IllegalStateException e = assertThrows(IllegalStateException.class, call);
                assertTrue(e.getMessage().contains("'gone'") && e.getMessage().contains("deleted"), e.getMessage());
            }
            assertEquals("gone", c.name());
            assertEquals(Set.of(), consumers.names());
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> consumers.copy("x", c));
            assertTrue(e.getMessage().contains("deleted"), e.getMessage());
            // A new consumer of the same name starts afresh, at the earliest message.
            assertEquals(0, consumers.open("gone").position());
        }
    }

    @Test
    void consumersOfAClosedQueue_throwQueueClosedException() {
        BigQueue q = BigQueue.open(dir, small());
        enqueue(q, 5);
        dev.bigqueue.consumer.Consumer c = Consumers.of(q).open("c");
        Consumers consumers = Consumers.of(q);
        q.close();
        for (Executable call : everyOperation(c)) {
            QueueClosedException e = assertThrows(QueueClosedException.class, call);
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
        }
        assertThrows(QueueClosedException.class, () -> consumers.open("d"));
        assertThrows(QueueClosedException.class, () -> consumers.delete("c"));
        assertThrows(QueueClosedException.class, () -> consumers.copy("d", c));
        c.close(); // harmless after the queue closed
    }

    private static List<Executable> everyOperation(dev.bigqueue.consumer.Consumer c) {
        return List.of(c::dequeue, c::dequeueString, () -> c.dequeue(java.time.Duration.ofMillis(10)), c::take, c::peek,
                c::isEmpty, c::position, c::lag, c::committedPosition, c::commit, () -> c.seek(0), c::seekToBeginning,
                c::seekToEnd, () -> c.requeue(m -> m));
    }

    @Test
    void copyOntoAnExistingName_isRejected_openOrOnlyPersisted() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 10);
            Consumers consumers = Consumers.of(q);
            dev.bigqueue.consumer.Consumer a = consumers.open("a");
            dev.bigqueue.consumer.Consumer b = consumers.open("b");
            b.dequeue();
            b.dequeue();
            consumers.open("closed").close();
            for (String existing : List.of("a", "b", "closed")) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> consumers.copy(existing, a));
                assertTrue(e.getMessage().contains("'" + existing + "' already exists"), e.getMessage());
            }
            assertEquals(2, b.position(), "a failed copy must not touch the target");
            assertEquals(0, consumers.open("closed").position());
        }
    }

    @Test
    void copyOfAConsumerOfAnotherQueue_isRejected(@TempDir Path other) {
        try (BigQueue q = BigQueue.open(dir, small()); BigQueue q2 = BigQueue.open(other, small())) {
            dev.bigqueue.consumer.Consumer foreign = Consumers.of(q2).open("foreign");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Consumers.of(q).copy("mine", foreign));
            assertTrue(e.getMessage().contains("another queue"), e.getMessage());
        }
    }

    /**
     * After an OS crash the consumer file may have survived with an offset whose records did not
     * (they were not flushed): the consumer continues at the tail, and logs it, rather than point
     * into the middle of nothing.
     */
    @Test
    void consumerFileAheadOfTheTail_continuesAtTheTail() throws IOException {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 100);
        }
        Path file = dir.resolve("consumers").resolve("ahead.consumer");
        ConsumerFile.create(file, 500, 123_456, CommitMode.AUTO.fileCode).close();
        try (BigQueue q = BigQueue.open(dir, small())) {
            dev.bigqueue.consumer.Consumer c = Consumers.of(q).open("ahead");
            assertEquals(100, c.position());
            assertEquals(100, c.committedPosition());
            q.enqueueString(payload(100));
            assertEquals(100, offsetOf(c.dequeue()));
        }
    }

    /** Ways a consumer file can be damaged, each applied to a copy of a good file. */
    private static List<Consumer<Path>> damages() {
        return List.of(
                f -> rewrite(f, b -> b.putLong(0, 0x1234L)), // bad magic
                f -> rewrite(f, b -> b.putInt(8, 99)), // unknown version
                f -> rewrite(f, b -> {
                    for (int i = 16; i < 80; i++) {
                        b.put(i, (byte) (b.get(i) ^ 0x5A)); // both position slots fail their check
                    }
                }),
                f -> truncate(f, 40),
                f -> truncate(f, 0));
    }

    @Test
    void damagedConsumerFile_isReportedByName_andTheQueueStaysUsable() throws IOException {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, 50);
            Consumers.of(q).open("healthy").dequeue();
            Consumers.of(q).open("victim");
        }
        Path file = dir.resolve("consumers").resolve("victim.consumer");
        byte[] good = Files.readAllBytes(file);
        int kind = 0;
        for (Consumer<Path> damage : damages()) {
            Files.write(file, good);
            damage.accept(file);
            byte[] damaged = Files.readAllBytes(file);
            try (BigQueue q = BigQueue.open(dir, small())) {
                Consumers consumers = Consumers.of(q);
                QueueCorruptedException e = assertThrows(QueueCorruptedException.class, () -> consumers.open("victim"),
                        "damage #" + kind);
                assertTrue(e.getMessage().contains(file.toAbsolutePath().toString()), e.getMessage());
                assertEquals(file.toAbsolutePath(), e.file().toAbsolutePath());
                assertArrayEquals(damaged, Files.readAllBytes(file), "a failed open must not rewrite the file");
                // The queue and its other consumers carry on.
                assertEquals(Set.of("healthy", "victim"), consumers.names());
                assertEquals(1, offsetOf(consumers.open("healthy").peek()));
                q.enqueueString(payload(q.tailOffset()));
                assertEquals(kind, offsetOf(q.dequeue()));
                q.gc();
                assertEquals(0, q.earliestOffset(), "with a position unknown, GC must keep every arena");
            }
            kind++;
        }
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumers consumers = Consumers.of(q);
            assertThrows(QueueCorruptedException.class, () -> consumers.open("victim"));
            assertTrue(consumers.delete("victim"), "a damaged consumer can be deleted");
            assertEquals(0, consumers.open("victim").position(), "and then made afresh");
        }
    }

    private static void rewrite(Path f, Consumer<ByteBuffer> change) {
        try {
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
            change.accept(b);
            Files.write(f, b.array());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void truncate(Path f, int length) {
        try {
            byte[] all = Files.readAllBytes(f);
            Files.write(f, java.util.Arrays.copyOf(all, length));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
