package dev.bigqueue.bench.peer;

import dev.bigqueue.MessageHandler;
import java.nio.ByteBuffer;
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
    /** The consumer's reused array for {@link #read} and its read-only view. */
    private byte[] scratch = new byte[4096];
    private ByteBuffer scratchView = ByteBuffer.wrap(scratch).asReadOnlyBuffer();

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

    /** One copy into a reused array per message (no allocation), handed as a read-only view. */
    @Override
    public int read(MessageHandler handler, int max) {
        int n = 0;
        while (n < max) {
            try (DocumentContext dc = tailer.readingDocument()) {
                if (!dc.isPresent()) {
                    break;
                }
                Bytes<?> bytes = dc.wire().bytes();
                int length = (int) bytes.readRemaining();
                if (scratch.length < length) {
                    scratch = new byte[length];
                    scratchView = ByteBuffer.wrap(scratch).asReadOnlyBuffer();
                }
                bytes.read(scratch, 0, length);
                scratchView.limit(length).position(0);
                handler.onMessage(-1, scratchView);
            }
            n++;
        }
        return n;
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
