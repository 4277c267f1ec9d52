package dev.bigqueue.bench.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/**
 * Where {@code consume} prints: messages gathered in a 64 KiB buffer and written through a
 * {@link WritableByteChannel}, which reports every write error and says how many bytes each write
 * took. It counts the messages whose bytes were all taken, so that {@code consume} commits exactly
 * those: after EPIPE (the reader went away), ENOSPC or any other error, nothing that did not reach
 * the output is committed, and the next run starts at the first message that did not.
 *
 * <p>Design note: {@link System#out} cannot do this. It is a PrintStream, which swallows every
 * IOException (its {@code flush()} never throws), and an OutputStream write that fails halfway
 * does not say how much of it went out.
 *
 * <p>"Taken" means accepted by the kernel: bytes left in a pipe's buffer that the reader never read
 * count as written, as they do for every Unix tool. Not safe for use by several threads.
 */
final class MessageOutput {
    private static final int BUFFER_BYTES = 1 << 16;

    private final WritableByteChannel channel;
    private final boolean lengthPrefixed;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER_BYTES);
    /** Bytes given to {@link #write}, framing included, since this output was made. */
    private long appendedBytes;
    /** Bytes the channel took. */
    private long writtenBytes;
    /** Messages whose bytes the channel took in full. */
    private long writtenMessages;
    /** The end (in appendedBytes) of each message not yet known to be written, oldest first. */
    private long[] pendingEnds = new long[1024];
    private int pendingFirst;
    private int pendingCount;

    /**
     * @param lengthPrefixed each message as a 4-byte big-endian length and its bytes; otherwise its
     *     bytes and a newline.
     */
    MessageOutput(WritableByteChannel channel, boolean lengthPrefixed) {
        this.channel = channel;
        this.lengthPrefixed = lengthPrefixed;
    }

    /**
     * Standard output as a channel. Never closed: closing it would close file descriptor 1 for the
     * whole process (the JDK points it at /dev/null).
     */
    static WritableByteChannel standardOutput() {
        return new FileOutputStream(FileDescriptor.out).getChannel();
    }

    /**
     * Appends one message; writes the buffer whenever it fills.
     *
     * @throws IOException from the channel; {@link #writtenMessages()} then says how many made it.
     */
    void write(byte[] message) throws IOException {
        if (lengthPrefixed) {
            if (buffer.remaining() < Integer.BYTES) {
                writeBuffer();
            }
            buffer.putInt(message.length);
        }
        for (int off = 0; off < message.length;) {
            if (!buffer.hasRemaining()) {
                writeBuffer();
            }
            int n = Math.min(buffer.remaining(), message.length - off);
            buffer.put(message, off, n);
            off += n;
        }
        if (!lengthPrefixed) {
            if (!buffer.hasRemaining()) {
                writeBuffer();
            }
            buffer.put((byte) '\n');
        }
        appendedBytes += (lengthPrefixed ? Integer.BYTES : 1) + message.length;
        addPending(appendedBytes);
    }

    /**
     * Writes everything appended so far.
     *
     * @throws IOException from the channel; {@link #writtenMessages()} then says how many made it.
     */
    void flush() throws IOException {
        if (buffer.position() > 0) {
            writeBuffer();
        }
    }

    /** How many messages the channel has taken in full; those after it were not written, or in part. */
    long writtenMessages() {
        return writtenMessages;
    }

    /** Writes the whole buffer, counting what the channel took even when a write throws. */
    private void writeBuffer() throws IOException {
        buffer.flip();
        try {
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
        } finally {
            // A write that throws may still have moved the position: an interrupted FileChannel write
            // that went through throws ClosedByInterruptException after the fact.
            writtenBytes += buffer.position();
            buffer.compact();
            while (pendingCount > 0 && pendingEnds[pendingFirst] <= writtenBytes) {
                pendingFirst = (pendingFirst + 1) % pendingEnds.length;
                pendingCount--;
                writtenMessages++;
            }
        }
    }

    private void addPending(long end) {
        if (pendingCount == pendingEnds.length) {
            long[] grown = new long[pendingEnds.length * 2];
            for (int i = 0; i < pendingCount; i++) {
                grown[i] = pendingEnds[(pendingFirst + i) % pendingEnds.length];
            }
            pendingEnds = grown;
            pendingFirst = 0;
        }
        pendingEnds[(pendingFirst + pendingCount) % pendingEnds.length] = end;
        pendingCount++;
    }
}
