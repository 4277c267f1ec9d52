package dev.bigqueue.bench.peer;

import dev.bigqueue.MessageHandler;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The raw limit: length-prefixed records copied into one file mapped once at open, with no
 * index, no checksum, no locking and no recovery. Nothing a real queue does is cheaper than this,
 * so it bounds what bigqueue can reach on this machine.
 *
 * <pre>
 * record: 4 bytes length (little-endian) | length bytes of payload
 * a length of -1, or fewer than 4 bytes left, means "continue at the start of the buffer"
 * </pre>
 *
 * <p>Limits, on purpose: one producer thread and one consumer thread. The writer publishes each
 * record with one volatile store, so a consumer on another thread sees whole records only. When a
 * record does not fit in the room the reader has left, the unread content is discarded and
 * writing starts over at the front of the buffer: the raw peer measures copying, not retention,
 * and a long enqueue-only run measures memcpy into pages that are already mapped. Size the buffer
 * ({@link PeerOptions#rawCapacityBytes()}) above what one run keeps unread.
 */
final class RawMappedPeer implements QueuePeer {
    private static final int LENGTH_BYTES = 4;
    private static final int WRAP = -1;

    private final RandomAccessFile file;
    private final MappedByteBuffer buffer;
    /** The consumer's read-only view for {@link #read}; made on first use. */
    private ByteBuffer view;
    private final int capacity;

    /** Stream position of the next record to write; the writer's own. */
    private long writePosition;
    /** Stream position up to which records are complete; the writer's release, the reader's acquire. */
    private volatile long published;
    /** Stream position before which content was discarded by a restart at the front. */
    private volatile long discardedBefore;
    /** Stream position of the next record to read; the reader's own, read by the writer. */
    private volatile long readPosition;

    RawMappedPeer(Path dir, PeerOptions options) {
        try {
            Files.createDirectories(dir);
            this.capacity = (int) options.rawCapacityBytes();
            this.file = new RandomAccessFile(dir.resolve("raw.dat").toFile(), "rw");
            file.setLength(capacity);
            this.buffer = file.getChannel().map(FileChannel.MapMode.READ_WRITE, 0, capacity);
            buffer.order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot map the raw buffer in " + dir.toAbsolutePath(), e);
        }
    }

    @Override
    public PeerType type() {
        return PeerType.RAW_MAPPED;
    }

    @Override
    public void enqueue(byte[] message) {
        int recordBytes = LENGTH_BYTES + message.length;
        if (recordBytes > capacity) {
            throw new IllegalArgumentException("message of " + message.length
                    + " bytes does not fit the raw buffer of " + capacity + " bytes; raise rawCapacityBytes");
        }
        long position = writePosition;
        int index = (int) (position % capacity);
        if (capacity - index < recordBytes) {
            if (capacity - index >= LENGTH_BYTES) {
                buffer.putInt(index, WRAP);
            }
            position += capacity - index;
            index = 0;
        }
        if (position + recordBytes - readPosition > capacity) {
            // No room left behind the reader: discard the unread content and start over.
            position = ((position + capacity - 1) / capacity) * capacity;
            index = 0;
            discardedBefore = position;
        }
        buffer.putInt(index, message.length);
        buffer.put(index + LENGTH_BYTES, message);
        writePosition = position + recordBytes;
        published = writePosition;
    }

    @Override
    public byte[] dequeue() {
        long position = Math.max(readPosition, discardedBefore);
        long end = published;
        while (position < end) {
            int index = (int) (position % capacity);
            int length = capacity - index < LENGTH_BYTES ? WRAP : buffer.getInt(index);
            if (length == WRAP) {
                position += capacity - index;
                continue;
            }
            byte[] message = new byte[length];
            buffer.get(index + LENGTH_BYTES, message);
            readPosition = position + LENGTH_BYTES + length;
            return message;
        }
        readPosition = position;
        return null;
    }

    /** Views of the mapped records: no copy at all, the raw limit of a zero-copy read. */
    @Override
    public int read(MessageHandler handler, int max) {
        if (view == null) {
            view = buffer.asReadOnlyBuffer();
        }
        int n = 0;
        long position = Math.max(readPosition, discardedBefore);
        long end = published;
        while (n < max && position < end) {
            int index = (int) (position % capacity);
            int length = capacity - index < LENGTH_BYTES ? WRAP : buffer.getInt(index);
            if (length == WRAP) {
                position += capacity - index;
                continue;
            }
            view.limit(index + LENGTH_BYTES + length).position(index + LENGTH_BYTES);
            position += LENGTH_BYTES + length;
            readPosition = position;
            handler.onMessage(-1, view);
            n++;
        }
        readPosition = Math.max(readPosition, position);
        return n;
    }

    @Override
    public void flush() {
        buffer.force();
    }

    @Override
    public void close() {
        try {
            unmap(buffer);
            file.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Releases the mapping now rather than at some later GC ({@code sun.misc.Unsafe#invokeCleaner}). */
    private static void unmap(MappedByteBuffer buffer) {
        try {
            Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
            Field theUnsafe = unsafeClass.getDeclaredField("theUnsafe");
            theUnsafe.setAccessible(true);
            Object unsafe = theUnsafe.get(null);
            unsafeClass.getMethod("invokeCleaner", java.nio.ByteBuffer.class).invoke(unsafe, buffer);
        } catch (ReflectiveOperationException | RuntimeException e) {
            // Left to the garbage collector.
        }
    }
}
