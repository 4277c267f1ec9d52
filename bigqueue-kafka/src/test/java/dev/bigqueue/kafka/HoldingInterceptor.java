package dev.bigqueue.kafka;

import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.producer.ProducerInterceptor;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * A producer interceptor ({@code interceptor.classes}) that, once {@link #arm armed}, holds the
 * thread that sends the next record, the forwarder's, inside {@code send()} until
 * {@link #release}: the forwarder has read the record and noted it in flight, and does nothing
 * more while the test changes the queue under it. One forwarder at a time may use it (static state).
 */
public final class HoldingInterceptor implements ProducerInterceptor<byte[], byte[]> {
    private static final AtomicBoolean ARMED = new AtomicBoolean();
    private static volatile CountDownLatch reached = new CountDownLatch(0);
    private static volatile CountDownLatch released = new CountDownLatch(0);

    /** Holds the next send. */
    static void arm() {
        reached = new CountDownLatch(1);
        released = new CountDownLatch(1);
        ARMED.set(true);
    }

    /** Returns once a send is held. */
    static void awaitHeld() throws InterruptedException {
        Await.until(() -> reached.getCount() == 0, () -> "no send reached the interceptor");
    }

    /** Lets the held send go on (and disarms). */
    static void release() {
        ARMED.set(false);
        released.countDown();
    }

    @Override
    public ProducerRecord<byte[], byte[]> onSend(ProducerRecord<byte[], byte[]> record) {
        if (ARMED.compareAndSet(true, false)) {
            reached.countDown();
            try {
                released.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // close() cut the wait short: the send sees it
            }
        }
        return record;
    }

    @Override
    public void onAcknowledgement(RecordMetadata metadata, Exception exception) {
    }

    @Override
    public void close() {
    }

    @Override
    public void configure(Map<String, ?> configs) {
    }
}
