package dev.bigqueue.bench.peer;

import dev.bigqueue.BigQueue;
import dev.bigqueue.MessageHandler;
import dev.bigqueue.QueueConfig;
import java.nio.file.Path;
import java.util.List;
import java.time.Duration;

/**
 * bigqueue through its public API: {@code enqueue(byte[])}, the queue's own consumer's
 * {@code dequeue()}. {@link PeerOptions} map one to one onto {@link QueueConfig}.
 */
final class BigQueuePeer implements QueuePeer {
    private final BigQueue queue;

    BigQueuePeer(Path dir, PeerOptions options) {
        this.queue = BigQueue.open(dir, config(options));
    }

    static QueueConfig config(PeerOptions options) {
        QueueConfig.Builder builder = QueueConfig.builder();
        if (options.arenaSizeBytes() > 0) {
            builder.arenaSize(options.arenaSizeBytes());
        }
        if (options.maxInMemoryArenas() >= 0) {
            builder.maxInMemoryArenas(options.maxInMemoryArenas());
        }
        if (options.flushIntervalMs() >= 0) {
            builder.flushInterval(Duration.ofMillis(options.flushIntervalMs()));
        }
        builder.syncOnWrite(options.syncOnWrite());
        return builder.build();
    }

    /** The queue itself, for benchmarks that use more of its API than the facade has. */
    BigQueue queue() {
        return queue;
    }

    @Override
    public PeerType type() {
        return PeerType.BIGQUEUE;
    }

    @Override
    public void enqueue(byte[] message) {
        queue.enqueue(message);
    }

    @Override
    public void enqueueString(String message) {
        queue.enqueueString(message);
    }

    @Override
    public byte[] dequeue() {
        return queue.dequeue();
    }

    @Override
    public int read(MessageHandler handler, int max) {
        return queue.read(handler, max);
    }

    @Override
    public int drainTo(List<byte[]> sink, int max) {
        return queue.drainTo(sink, max);
    }

    @Override
    public String dequeueString() {
        return queue.dequeueString();
    }

    @Override
    public void flush() {
        queue.flush();
    }

    @Override
    public void close() {
        queue.close();
    }
}
