package dev.bigqueue.kafka;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * The records handed to the producer and not yet committed locally: offsets [{@code acked},
 * {@code sent}), at most {@code capacity} of them, which bounds the forwarder's memory in
 * messages (the producer's {@code buffer.memory} bounds it in bytes). Kafka acknowledges records
 * of different partitions in any order; the window turns those acknowledgements into the prefix
 * that may be committed: every offset before it was acknowledged.
 *
 * <p><b>Threads.</b> The forwarder thread owns the window: it alone calls every method but the
 * callbacks. The producer's I/O thread runs the callbacks, which publish through an
 * {@link AtomicIntegerArray} (a slot per offset modulo the capacity; a slot is reused only once
 * the prefix has passed it, so an acknowledgement never lands on a live offset's slot), an
 * {@link AtomicReference} for the first failure, and a {@link Semaphore} that wakes the forwarder
 * thread. {@code sent} and {@code acked} are volatile only so that monitoring threads can read
 * {@link #inFlight()}; {@link #reset} is called only when no callback can come any more (the
 * producer that would run them is closed).
 */
final class InFlightWindow {
    private final int capacity;
    private final AtomicIntegerArray ackedSlots;
    private final Semaphore signals = new Semaphore(0);
    private final AtomicReference<Exception> failure = new AtomicReference<>();
    private volatile long acked;
    private volatile long sent;

    InFlightWindow(int capacity, long start) {
        this.capacity = capacity;
        this.ackedSlots = new AtomicIntegerArray(capacity);
        this.acked = start;
        this.sent = start;
    }

    /** Records that may still be sent before the window is full. */
    int room() {
        return capacity - (int) (sent - acked);
    }

    /** Records sent and not yet part of the acknowledged prefix. */
    long inFlight() {
        return Math.max(0, sent - acked);
    }

    long next() {
        return sent;
    }

    /**
     * Notes that {@code offset}, the next one, is about to be sent, and returns its callback.
     * Called before {@code send()}: a producer may run the callback inside {@code send()}.
     */
    Callback send(long offset) {
        if (offset != sent) {
            throw new IllegalStateException("sent offset " + offset + " while " + sent + " was next");
        }
        sent = offset + 1;
        int slot = (int) (offset % capacity);
        return (RecordMetadata metadata, Exception e) -> {
            if (e != null) {
                failure.compareAndSet(null, e);
            } else {
                ackedSlots.set(slot, 1);
            }
            signals.release();
        };
    }

    /** The first send that failed since the last {@link #reset}; null if none did. */
    Exception failure() {
        return failure.get();
    }

    /** Moves the acknowledged prefix as far as the acknowledgements go; returns it. */
    long advance() {
        long a = acked;
        long s = sent;
        while (a < s) {
            int slot = (int) (a % capacity);
            if (ackedSlots.get(slot) == 0) {
                break;
            }
            ackedSlots.set(slot, 0);
            a++;
        }
        acked = a;
        return a;
    }

    /** The acknowledged prefix as of the last {@link #advance}. */
    long acknowledged() {
        return acked;
    }

    /**
     * How many offsets in [{@link #acknowledged()}, {@code to}) Kafka acknowledged beyond the
     * prefix (records of other partitions acknowledged before an earlier one).
     */
    long acknowledgedBeyondPrefix(long to) {
        long n = 0;
        for (long o = acked; o < Math.min(to, sent); o++) {
            if (ackedSlots.get((int) (o % capacity)) != 0) {
                n++;
            }
        }
        return n;
    }

    /** Waits up to {@code timeoutNs} for a callback (acknowledgement or failure). */
    void awaitCallback(long timeoutNs) throws InterruptedException {
        if (signals.tryAcquire(timeoutNs, TimeUnit.NANOSECONDS)) {
            signals.drainPermits();
        }
    }

    /** Empties the window to start at {@code offset}. Only once no callback can come. */
    void reset(long offset) {
        for (int i = 0; i < capacity; i++) {
            ackedSlots.set(i, 0);
        }
        failure.set(null);
        signals.drainPermits();
        acked = offset;
        sent = offset;
    }
}
