package dev.bigqueue.bench.peer;

import dev.bigqueue.MessageHandler;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * One persistent queue under test, bigqueue or a peer, behind the smallest facade every one of
 * them can honour: append a message, take the oldest one, close. The benchmarks and the
 * {@code bigqueue bench} command see the peers only through this interface, so a figure for one
 * peer and a figure for another always measure the same calls.
 *
 * <p>Threads: {@link #enqueue} may be called from several producer threads at once and
 * {@link #dequeue} from one consumer thread at the same time as the producers, except where a
 * {@link PeerType} says otherwise ({@link PeerType#RAW_MAPPED} takes one producer only).
 *
 * <p>I/O failures surface as {@link java.io.UncheckedIOException}, as in bigqueue itself.
 */
public interface QueuePeer extends AutoCloseable {

    /**
     * Opens (creating if needed) the queue of {@code type} in {@code dir} with default options.
     *
     * @param type which queue.
     * @param dir  a directory that the queue owns.
     * @return the open queue.
     */
    static QueuePeer open(PeerType type, Path dir) {
        return type.open(dir, PeerOptions.defaults());
    }

    /**
     * Opens (creating if needed) the queue of {@code type} in {@code dir}.
     *
     * @param type    which queue.
     * @param dir     a directory that the queue owns.
     * @param options sizing and durability; a peer ignores what it has no equivalent for.
     * @return the open queue.
     */
    static QueuePeer open(PeerType type, Path dir, PeerOptions options) {
        return type.open(dir, options);
    }

    /** Which queue this is. */
    PeerType type();

    /**
     * Appends a message.
     *
     * @param message the bytes to append; the peer copies them.
     */
    void enqueue(byte[] message);

    /**
     * Appends a string as UTF-8; a peer with its own string path (bigqueue) overrides this.
     *
     * @param message the text to append.
     */
    default void enqueueString(String message) {
        enqueue(message.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Takes the oldest message.
     *
     * @return the message, or null when the queue is empty.
     */
    byte[] dequeue();

    /**
     * Takes the oldest message as UTF-8 text.
     *
     * @return the message, or null when the queue is empty.
     */
    default String dequeueString() {
        byte[] message = dequeue();
        return message == null ? null : new String(message, StandardCharsets.UTF_8);
    }

    /**
     * Takes up to {@code max} of the oldest messages into {@code sink}, each peer in its fastest
     * way; the peers without a batch read (all but bigqueue) take one message at a time.
     *
     * @return how many messages were taken; 0 when the queue is empty.
     */
    default int drainTo(List<byte[]> sink, int max) {
        int n = 0;
        byte[] message;
        while (n < max && (message = dequeue()) != null) {
            sink.add(message);
            n++;
        }
        return n;
    }

    /**
     * Hands up to {@code max} of the oldest messages to {@code handler}, each as a read-only view
     * valid during the call, each peer in its fastest way: bigqueue's {@code read}, a view of the
     * mapped bytes for the raw peer, one copy into a reused array for Chronicle; the rest wrap what
     * {@code dequeue()} returns.
     *
     * @return how many messages were handed; 0 when the queue is empty.
     */
    default int read(MessageHandler handler, int max) {
        int n = 0;
        byte[] message;
        while (n < max && (message = dequeue()) != null) {
            handler.onMessage(-1, ByteBuffer.wrap(message).asReadOnlyBuffer());
            n++;
        }
        return n;
    }

    /** Forces everything appended so far to disk. */
    void flush();

    /** Closes the queue; its files stay on disk. */
    @Override
    void close();
}
