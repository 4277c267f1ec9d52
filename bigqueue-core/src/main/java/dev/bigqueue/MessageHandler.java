package dev.bigqueue;

import java.nio.ByteBuffer;

/**
 * Receives messages from {@link BigQueue#read(MessageHandler, int)} and a named consumer's
 * {@code read}, one call per message, in offset order, on the thread that called {@code read}.
 *
 * <p>{@code message} is a read-only view of the message's value (its remaining bytes; for a message
 * enqueued as a plain {@code byte[]} it starts at index 0). It is valid only during the call: the
 * reader reuses its bytes for the next message, so keep a copy of what you need after returning.
 * Nothing is allocated per message. A message written as a tombstone (a key with no value) comes as
 * an empty buffer.
 *
 * <p>Throwing from the handler stops the batch: the message it was handling and the ones after it
 * are not consumed (the next read starts with that message again), and the exception propagates
 * out of {@code read}.
 *
 * <p>The handler must not read, move or commit the consumer that is calling it (an
 * {@code IllegalStateException} says so); other consumers and the queue are free to use, and
 * closing the consumer or the queue from the handler is allowed.
 */
@FunctionalInterface
public interface MessageHandler {
    void onMessage(long offset, ByteBuffer message);
}
