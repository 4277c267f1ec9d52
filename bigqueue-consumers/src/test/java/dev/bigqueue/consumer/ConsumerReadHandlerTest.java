package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.Fixtures.offsetOf;
import static dev.bigqueue.consumer.Fixtures.payload;
import static dev.bigqueue.consumer.Fixtures.small;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.bigqueue.BigQueue;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A named consumer's {@code read(MessageHandler, max)}: AUTO commits everything handled when the
 * batch returns (a reopen resumes after it); MANUAL moves only the position until commit(); a
 * handler that throws leaves its message to the next read, committed or not as the mode says.
 */
class ConsumerReadHandlerTest {
    @TempDir
    Path dir;

    private static List<Long> readAll(Consumer c, int max) {
        List<Long> got = new ArrayList<>();
        c.read((offset, view) -> {
            byte[] m = new byte[view.remaining()];
            view.get(m);
            assertEquals(offset, offsetOf(m), "the view holds the message at its offset");
            got.add(offset);
        }, max);
        return got;
    }

    @Test
    void auto_commitsTheBatchWhenItReturns_manual_onlyOnCommit() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            for (int i = 0; i < 40; i++) {
                q.enqueueString(payload(i));
            }
            Consumers consumers = Consumers.of(q);
            Consumer auto = consumers.open("billing");
            Consumer manual = consumers.open("ledger", CommitMode.MANUAL);
            assertEquals(List.of(0L, 1L, 2L, 3L, 4L), readAll(auto, 5));
            assertEquals(5, auto.committedPosition(), "AUTO: the whole batch is committed");
            assertEquals(10, readAll(manual, 10).size());
            assertEquals(10, manual.position());
            assertEquals(0, manual.committedPosition(), "MANUAL: only the position moved");
            manual.commit();
            assertEquals(10, manual.committedPosition());
        }
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumers consumers = Consumers.of(q);
            assertEquals(5, consumers.open("billing").position());
            assertEquals(10, consumers.open("ledger", CommitMode.MANUAL).position());
        }
    }

    @Test
    void aHandlerThatThrows_commitsWhatCameBefore_andItsMessageComesNext() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            for (int i = 0; i < 10; i++) {
                q.enqueueString(payload(i));
            }
            Consumer c = Consumers.of(q).open("audit");
            assertThrows(ArithmeticException.class, () -> c.read((offset, view) -> {
                if (offset == 3) {
                    throw new ArithmeticException("refused");
                }
            }, 10));
            assertEquals(3, c.position());
            assertEquals(3, c.committedPosition());
            assertEquals(List.of(3L, 4L, 5L, 6L, 7L, 8L, 9L), readAll(c, 100));
        }
    }
}
