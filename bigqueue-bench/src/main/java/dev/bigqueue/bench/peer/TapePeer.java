package dev.bigqueue.bench.peer;

import com.squareup.tape2.QueueFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Square's Tape 2 {@code QueueFile}: one growable file, and every {@code add} and {@code remove}
 * written through a {@code "rwd"} file, so each one is on disk when it returns. That is Tape's
 * design, not a setting: compare it with bigqueue's {@code syncOnWrite}. {@link PeerOptions} are
 * ignored. {@code QueueFile} is not thread-safe, so every call holds this peer's lock.
 */
final class TapePeer implements QueuePeer {
    private final QueueFile file;

    TapePeer(Path dir, PeerOptions options) {
        try {
            Files.createDirectories(dir);
            this.file = new QueueFile.Builder(dir.resolve("tape.queue").toFile()).zero(false).build();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open Tape queue file in " + dir.toAbsolutePath(), e);
        }
    }

    @Override
    public PeerType type() {
        return PeerType.TAPE;
    }

    @Override
    public synchronized void enqueue(byte[] message) {
        try {
            file.add(message);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public synchronized byte[] dequeue() {
        try {
            byte[] message = file.peek();
            if (message != null) {
                file.remove();
            }
            return message;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void flush() {
        // Every operation is already on disk.
    }

    @Override
    public synchronized void close() {
        try {
            file.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
