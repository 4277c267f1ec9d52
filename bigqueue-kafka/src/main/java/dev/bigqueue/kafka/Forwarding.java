package dev.bigqueue.kafka;

import dev.bigqueue.BigQueue;
import dev.bigqueue.Message;
import dev.bigqueue.QueueClosedException;
import dev.bigqueue.consumer.Consumer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.InvalidTimestampException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The forwarder thread's work: read the consumer ahead, send, commit the acknowledged prefix,
 * and on a failure start over from the last commit with a new producer after a back-off.
 *
 * <p><b>Order through failures.</b> At the first failed send the producer is closed at once
 * ({@code close(ZERO)} fails every record still pending, so nothing after the gap is delivered
 * after it), the consumer goes back to its committed offset, and a new producer sends again from
 * there: records sent after the failed one may arrive twice (at least once), never before it.
 *
 * <p><b>Threads.</b> One forwarder thread runs {@link #run} from {@code start()} to
 * {@code close()}; it alone uses the consumer and creates, uses and closes each producer (the
 * producer's own I/O thread lives and ends with it). Other threads read the counters through
 * volatile fields, and end the run through the {@code closing} latch, and an interrupt that cuts
 * short a wait in the queue or the producer (given only while the thread is in such a wait, under
 * {@code interruptLock}; never while it closes a producer).
 *
 * <p><b>Records the queue dropped.</b> DROP_OLDEST or retention may remove records under the
 * forwarder at any time, sent or not. The core then moves the consumer's committed offset itself
 * (past what it dropped), so {@code committed} follows the consumer's and never commits below it;
 * a rewind to a dropped offset resumes at the earliest record instead. Records dropped while in
 * flight may still be acknowledged; whichever were not when a session ends (a failed send,
 * close, or the queue's close) are lost, and a WARN names them, how many and which offsets ({@link #reportDropped}).
 */
final class Forwarding implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(Forwarding.class);
    private static final int BATCH = 512;
    /** With nothing to send and nothing in flight: wait for the queue this long, then look again. */
    private static final Duration IDLE_WAIT = Duration.ofMillis(100);
    /** With records in flight and nothing new: wait this long for an acknowledgement, then look again. */
    private static final long ACK_WAIT_NS = TimeUnit.MILLISECONDS.toNanos(1);

    private final BigQueue queue;
    private final Consumer consumer;
    private final String topic;
    private final Properties producerProperties;
    private final Duration initialBackoff;
    private final Duration maxBackoff;
    private final Duration closeTimeout;
    private final LongConsumer onCommit;
    private final CountDownLatch closing;
    private final InFlightWindow window;
    private final List<Message> batch = new ArrayList<>(BATCH);

    /**
     * Guards {@link #interruptible}: close() interrupts the thread only while it is in a wait that
     * an interrupt may cut short, never while it closes a producer (KafkaProducer.close, when
     * interrupted, gives up joining its I/O thread and leaves it running).
     */
    private final Object interruptLock = new Object();
    private boolean interruptible;
    private volatile long committed;
    private volatile long forwarded;
    private volatile Exception lastError;
    private int failures;

    Forwarding(Consumer consumer, KafkaForwarder.Builder b, Properties producerProperties, CountDownLatch closing) {
        this.queue = b.queue;
        this.consumer = consumer;
        this.topic = b.topic;
        this.producerProperties = producerProperties;
        this.initialBackoff = b.initialBackoff;
        this.maxBackoff = b.maxBackoff;
        this.closeTimeout = b.closeTimeout;
        this.onCommit = b.onCommit;
        this.closing = closing;
        this.committed = consumer.committedPosition();
        this.window = new InFlightWindow(b.maxInFlight, committed);
    }

    long committed() {
        return committed;
    }

    long forwarded() {
        return forwarded;
    }

    long inFlight() {
        return window.inFlight();
    }

    Exception lastError() {
        return lastError;
    }

    /** From close(), after the closing latch: cuts short a wait of the forwarder thread {@code t}. */
    void interrupt(Thread t) {
        synchronized (interruptLock) {
            if (interruptible) {
                t.interrupt();
            }
        }
    }

    private void setInterruptible(boolean on) {
        synchronized (interruptLock) {
            interruptible = on;
        }
        if (!on) {
            Thread.interrupted(); // an interrupt that came before is spent: what follows must not see it
        }
    }

    @Override
    public void run() {
        LOG.info("forwarding consumer '{}' to topic '{}' at {} from offset {}", consumer.name(), topic,
                producerProperties.get("bootstrap.servers"), committed);
        try {
            while (!isClosing()) {
                Exception failure = session();
                if (failure == null) {
                    break;
                }
                lastError = failure;
                failures++;
                if (Failures.isFatal(failure)) {
                    LOG.error("forwarding consumer '{}' to topic '{}' stopped at offset {}: {}. This cannot succeed by"
                            + " retrying: fix the cause and start the forwarder again", consumer.name(), topic,
                            committed, Failures.describe(failure));
                    return;
                }
                Duration backoff = backoff(failures);
                LOG.warn("forwarding consumer '{}' to topic '{}': sending failed ({}; attempt {}); resending from"
                        + " offset {} in {} ms", consumer.name(), topic, Failures.describe(failure), failures,
                        committed, backoff.toMillis());
                if (closing.await(backoff.toNanos(), TimeUnit.NANOSECONDS)) {
                    break;
                }
            }
        } catch (InterruptedException e) {
            // close() interrupts only to cut a wait short: the loop above has seen the latch.
        } catch (QueueClosedException e) {
            lastError = e;
            LOG.info("forwarding consumer '{}' stopped: the queue was closed; offsets from {} are sent again at the"
                    + " next start", consumer.name(), committed);
        } catch (RuntimeException | Error e) {
            lastError = e instanceof Exception ? (Exception) e : new RuntimeException(e);
            LOG.error("forwarding consumer '{}' to topic '{}' stopped at offset {}", consumer.name(), topic,
                    committed, e);
        } finally {
            setInterruptible(false);
            closeConsumer();
        }
    }

    /**
     * One producer's life: sends until a send fails (returns the failure, the producer closed
     * and the consumer rewound) or the forwarder closes (returns null, after waiting up to
     * closeTimeout for what is in flight).
     */
    private Exception session() {
        setInterruptible(true);
        if (isClosing()) { // checked after: a close() from now on interrupts what follows
            setInterruptible(false);
            return null;
        }
        Producer<byte[], byte[]> producer;
        try {
            producer = new KafkaProducer<>(producerProperties);
        } catch (KafkaException e) {
            setInterruptible(false);
            return e;
        }
        Exception failure;
        try {
            // Once per producer: a topic that grew partitions is seen at the next session.
            int partitions = producer.partitionsFor(topic).size();
            failure = sendUntilFailure(producer, partitions);
        } catch (InterruptException | InterruptedException e) {
            failure = null; // close() cut a wait short
        } catch (KafkaException e) {
            failure = e; // max.block.ms passed waiting for metadata or buffer space
        } catch (RuntimeException | Error e) {
            // An Error too (an onCommit listener's AssertionError): the producer and its I/O thread must not outlive
            // the forwarder.
            setInterruptible(false);
            if (!(e instanceof QueueClosedException)) {
                // whatever stops the forwarder, what Kafka acknowledged is not sent again at the next start
                try {
                    abandon(producer); // closes the producer first
                } catch (RuntimeException | Error again) {
                    e.addSuppressed(again);
                }
            } else {
                // The queue was closed: nothing can be committed or rewound any more, but the records
                // the queue dropped while they were in flight are lost like at any other end. Memory only.
                producer.close(Duration.ZERO); // every callback has run when it returns
                reportDropped("the next start resumes at");
            }
            throw e;
        }
        setInterruptible(false);
        if (failure == null && window.failure() != null) {
            failure = window.failure(); // closing, but a send failed: nothing after it may go out
        }
        if (failure == null) {
            producer.close(closeTimeout);
            commitAcknowledged();
            reportDropped("the next start resumes at");
            return null;
        }
        abandon(producer);
        return failure;
    }

    /** initialBackoff doubled for each failure in a row, at most maxBackoff. */
    private Duration backoff(int failuresInARow) {
        Duration d = initialBackoff;
        for (int i = 1; i < failuresInARow && d.compareTo(maxBackoff) < 0; i++) {
            d = d.multipliedBy(2);
        }
        return d.compareTo(maxBackoff) > 0 ? maxBackoff : d;
    }

    /** Closes {@code producer} failing what is pending, commits what was acknowledged, rewinds. */
    private void abandon(Producer<byte[], byte[]> producer) {
        producer.close(Duration.ZERO); // every callback has run when it returns
        commitAcknowledged();
        rewind();
        reportDropped("continuing at");
        window.reset(committed);
        batch.clear();
    }

    /**
     * Once no callback can come: a WARN naming the offsets below {@code committed} that Kafka did
     * not acknowledge, if any. The queue dropped them (DROP_OLDEST or retention), read and sent or
     * not, and moved the consumer past them; nothing sends them again.
     */
    private void reportDropped(String continuing) {
        long from = window.acknowledged();
        if (committed <= from) {
            return;
        }
        long missed = committed - from - window.acknowledgedBeyondPrefix(committed);
        LOG.warn("forwarding consumer '{}': {} message(s) of offsets {}..{} were dropped from the queue (DROP_OLDEST or"
                + " retention) before Kafka acknowledged them; {} {}", consumer.name(), missed, from, committed - 1,
                continuing, committed);
    }

    /** Moves the consumer back to {@code committed}, or to the earliest record if a rule dropped it. */
    private void rewind() {
        if (committed >= queue.earliestOffset()) {
            try {
                consumer.seek(committed);
                return;
            } catch (IllegalArgumentException e) {
                if (committed >= queue.earliestOffset()) {
                    throw e;
                }
                // dropped between the check and the seek
            }
        }
        consumer.seekToBeginning(); // the caller's WARN names what was dropped
        long earliest = consumer.position();
        consumer.commit(earliest);
        advanceCommitted(earliest);
    }

    private Exception sendUntilFailure(Producer<byte[], byte[]> producer, int partitions)
            throws InterruptedException {
        long acknowledgedBefore = committed;
        for (;;) {
            if (isClosing()) {
                return null;
            }
            Exception failure = window.failure();
            if (failure != null) {
                return failure;
            }
            commitAcknowledged();
            if (failures > 0 && committed > acknowledgedBefore) {
                LOG.info("forwarding consumer '{}' to topic '{}' again: Kafka acknowledged up to offset {} after {}"
                        + " failed attempt(s)", consumer.name(), topic, committed, failures);
                failures = 0;
            }
            int room = window.room();
            if (room == 0) {
                window.awaitCallback(ACK_WAIT_NS * 100);
                continue;
            }
            batch.clear();
            int max = Math.min(room, BATCH);
            Message m;
            while (batch.size() < max && (m = consumer.dequeueMessage()) != null) {
                batch.add(m);
            }
            if (batch.isEmpty()) {
                if (window.inFlight() > 0) {
                    window.awaitCallback(ACK_WAIT_NS);
                    continue;
                }
                m = consumer.dequeueMessage(IDLE_WAIT);
                if (m == null) {
                    continue;
                }
                batch.add(m);
            }
            for (Message message : batch) {
                // A failed send fails everything after it: stop at once. While the broker is away each
                // send may block max.block.ms waiting for metadata, so sending the rest of the batch
                // would keep the forwarder away from its back-off for minutes (512 x 3 s in a test).
                failure = window.failure();
                if (failure != null) {
                    return failure;
                }
                long offset = message.offset();
                // DROP_OLDEST or retention removed offsets between the last send and this one: nothing
                // to send for them.
                if (offset != window.next() && !jumpTo(offset)) {
                    return window.failure();
                }
                if (message.timestamp().toEpochMilli() < 0) {
                    return unsendable(message);
                }
                producer.send(KafkaRecords.of(topic, partitions, message), window.send(offset));
            }
        }
    }

    /**
     * Waits until everything in flight is acknowledged, then commits {@code offset}, past offsets
     * that a rule dropped before they were read; false if a send failed or the forwarder closes first.
     */
    private boolean jumpTo(long offset) throws InterruptedException {
        if (!awaitAcknowledged()) {
            return false;
        }
        long from = window.next();
        LOG.warn("forwarding consumer '{}': offsets {}..{} ({} message(s)) were dropped from the queue before they"
                + " were read (DROP_OLDEST or retention); continuing at {}", consumer.name(), from, offset - 1,
                offset - from, offset);
        if (offset > consumer.committedPosition()) {
            consumer.commit(offset);
        }
        advanceCommitted(Math.max(offset, consumer.committedPosition()));
        window.reset(offset);
        return true;
    }

    /** Waits until everything in flight is acknowledged and committed; false if a send failed or closing. */
    private boolean awaitAcknowledged() throws InterruptedException {
        while (window.inFlight() > 0) {
            if (window.failure() != null || isClosing()) {
                return false;
            }
            window.awaitCallback(ACK_WAIT_NS * 100);
            commitAcknowledged();
        }
        return true;
    }

    /**
     * A message with a timestamp before 1970 cannot become a Kafka record (a negative timestamp
     * means "none" there). Stops the forwarder at it, with what came before it committed.
     */
    private Exception unsendable(Message message) throws InterruptedException {
        if (!awaitAcknowledged()) {
            return window.failure();
        }
        return new InvalidTimestampException("the message at offset " + message.offset() + " has timestamp "
                + message.timestamp() + ", before 1970, which a Kafka record cannot carry; move consumer '"
                + consumer.name() + "' past it (Consumer.seek(" + (message.offset() + 1) + ") and commit())");
    }

    private void commitAcknowledged() {
        long prefix = window.advance();
        long before = committed;
        // DROP_OLDEST moves the consumer's committed offset past what it dropped under the consumer;
        // committing below that is refused, and the forwarder reports where a restart resumes.
        long atConsumer = consumer.committedPosition();
        if (prefix > atConsumer) {
            consumer.commit(prefix);
            atConsumer = consumer.committedPosition(); // a record dropped meanwhile commits the earliest instead
        }
        // Only a drop moves it past what Kafka acknowledged, and never past the earliest record kept;
        // beyond that it is a commit by other code through the same Consumer instance, which must not
        // count as acknowledged: the rewind after a failure must still resend those records.
        long dropped = Math.min(atConsumer, queue.earliestOffset());
        long now = Math.max(before, Math.max(prefix, dropped));
        if (now > before) {
            forwarded += Math.max(0, prefix - before);
            advanceCommitted(now);
        }
    }

    /**
     * Makes {@code offset} the committed offset if it is past it, and tells the onCommit listener:
     * every move of {@code committed} goes through here, so the listener sees each one, in order.
     */
    private void advanceCommitted(long offset) {
        if (offset > committed) {
            committed = offset;
            if (onCommit != null) {
                onCommit.accept(offset);
            }
        }
    }

    private boolean isClosing() {
        return closing.getCount() == 0;
    }

    private void closeConsumer() {
        try {
            consumer.close();
        } catch (IllegalStateException queueClosed) {
            // the queue's close() closed it already, keeping what was committed
        }
        LOG.info("forwarder of consumer '{}' to topic '{}' stopped: {} forwarded in this run, committed up to offset"
                + " {}", consumer.name(), topic, forwarded, committed);
    }
}
