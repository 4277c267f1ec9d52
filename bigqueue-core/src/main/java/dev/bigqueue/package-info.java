/**
 * bigqueue: an embedded, persistent FIFO queue of byte-array messages in memory-mapped arena
 * files.
 *
 * <pre>{@code
 * try (BigQueue queue = BigQueue.open(Path.of("/var/lib/app/events"),
 *         QueueConfig.builder().arenaSize(64 << 20).syncOnWrite(false).build())) {
 *     long offset = queue.enqueueString("hello");
 *     String message = queue.dequeueString();   // "hello"; null when empty
 *     byte[] next = queue.take();               // waits for the next message
 * }
 * }</pre>
 *
 * <p>Start with {@link dev.bigqueue.BigQueue} (guarantees and errors) and
 * {@link dev.bigqueue.QueueConfig} (every option and its trade-off). Named consumers live in the
 * {@code bigqueue-consumers} module, package {@code dev.bigqueue.consumer}.
 */
package dev.bigqueue;
