package dev.bigqueue.bench.peer;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;
import java.nio.file.Path;

/**
 * OpenHFT Chronicle Queue, open-source edition, with its defaults: daily roll cycle, binary wire,
 * one appender per producer thread ({@code acquireAppender()}) and one tailer for the consumer.
 * A message is the raw bytes of one document. {@link PeerOptions} are ignored: Chronicle has no
 * arena cap, and its open-source edition has no sync-on-write.
 *
 * <p>Needs the JVM flags in {@link ChronicleFlags} on Java 17.
 */
final class ChroniclePeer implements QueuePeer {
    private final ChronicleQueue queue;
    private final ExcerptTailer tailer;

    ChroniclePeer(Path dir, PeerOptions options) {
        ChronicleFlags.disableAnalytics();
        this.queue = SingleChronicleQueueBuilder.single(dir.toFile()).build();
        this.tailer = queue.createTailer();
        // The tailer is created here and used by the consumer thread.
        tailer.singleThreadedCheckDisabled(true);
    }

    @Override
    public PeerType type() {
        return PeerType.CHRONICLE;
    }

    @Override
    public void enqueue(byte[] message) {
        try (DocumentContext dc = queue.acquireAppender().writingDocument()) {
            dc.wire().bytes().write(message);
        }
    }

    @Override
    public byte[] dequeue() {
        try (DocumentContext dc = tailer.readingDocument()) {
            if (!dc.isPresent()) {
                return null;
            }
            Bytes<?> bytes = dc.wire().bytes();
            byte[] message = new byte[(int) bytes.readRemaining()];
            bytes.read(message);
            return message;
        }
    }

    @Override
    public void flush() {
        // The open-source edition has no explicit sync; the OS writes the mapped pages back.
    }

    @Override
    public void close() {
        queue.close();
    }
}
