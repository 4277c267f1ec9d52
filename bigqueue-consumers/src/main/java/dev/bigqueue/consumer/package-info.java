/**
 * Kafka-style named consumers for a {@link dev.bigqueue.BigQueue}: several independent readers
 * (billing, audit, analytics) each read the same queue in order at their own pace, and each
 * resumes after a restart where it left off.
 *
 * <pre>{@code
 * try (BigQueue queue = BigQueue.open(Path.of("/var/lib/orders"))) {
 *     queue.enqueueString("order-1");
 *
 *     Consumers consumers = Consumers.of(queue);
 *     Consumer billing = consumers.open("billing");          // AUTO: every dequeue commits
 *     String order = billing.dequeueString();                // "order-1"
 *
 *     Consumer ledger = consumers.open("ledger", CommitMode.MANUAL);
 *     byte[] m = ledger.take();                              // waits for a message
 *     process(m);
 *     ledger.commit();                                       // m is never delivered again
 *
 *     Consumer audit = consumers.copy("audit", billing);     // starts where billing is
 *     audit.seekToBeginning();                               // ... and replays what is retained
 *     List<byte[]> batch = new ArrayList<>();
 *     audit.drainTo(batch, 1000);                            // up to 1000 at once: one lock, one commit
 * }
 * }</pre>
 *
 * <p><b>Guarantees</b> (SPEC, "Named consumers" and guarantees 1, 2, 6, 7): each consumer sees
 * the messages in enqueue order; after {@code kill -9} at any instant it resumes at or before the
 * last message it was handed, never after (at least once); a consumer file on disk, open or not,
 * keeps every arena it still needs from the queue's garbage collector; every method is
 * thread-safe, and threads sharing one {@link dev.bigqueue.consumer.Consumer} compete for its
 * messages, each going to exactly one of them. Offsets survive an OS crash once the queue has
 * flushed. See {@link dev.bigqueue.consumer.CommitMode} for what a restart redelivers.
 *
 * <p>Each consumer's offset lives in {@code consumers/NAME.consumer} in the queue directory, a
 * 128-byte memory-mapped file whose layout is drawn in {@code dev.bigqueue.internal.FileFormat}.
 */
package dev.bigqueue.consumer;
