package dev.bigqueue.bench.run;

import dev.bigqueue.bench.peer.PeerOptions;
import dev.bigqueue.bench.peer.PeerType;
import dev.bigqueue.bench.peer.QueuePeer;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Write throughput then read throughput of one peer for one message size, in one fresh queue
 * directory: enqueue the same message (random bytes) until the time or byte budget is spent,
 * then dequeue everything back. Both phases run on the calling thread; the time is read every
 * few messages so the clock does not weigh on small messages. Writes land in the page cache:
 * nothing is forced to disk inside a phase (Tape forces every operation by design).
 */
public final class ThroughputRun {
    private final Path dir;
    private final PeerType peer;
    private final int messageBytes;
    private final long budgetNs;
    private final long budgetBytes;
    private final boolean syncOnWrite;
    private long flushIntervalMs = -1;

    /**
     * @param dir          a directory that does not exist yet or is empty; the caller deletes it.
     * @param peer         the queue.
     * @param messageBytes payload bytes per message.
     * @param budgetNs     longest time for each phase.
     * @param budgetBytes  most payload bytes to write.
     * @param syncOnWrite  bigqueue syncs every enqueue (to compare with Tape, which always does).
     */
    public ThroughputRun(Path dir, PeerType peer, int messageBytes, long budgetNs, long budgetBytes,
                         boolean syncOnWrite) {
        this.dir = dir;
        this.peer = peer;
        this.messageBytes = messageBytes;
        this.budgetNs = budgetNs;
        this.budgetBytes = budgetBytes;
        this.syncOnWrite = syncOnWrite;
    }

    /**
     * bigqueue's {@code flushInterval} for this run, in ms: -1 (the default) keeps bigqueue's
     * own, 0 turns the periodic flush off, as the peers run.
     */
    public ThroughputRun withFlushIntervalMs(long ms) {
        this.flushIntervalMs = ms;
        return this;
    }

    /** The raw peer's buffer must hold every record a run writes before reading. */
    static PeerOptions optionsFor(long budgetBytes, int messageBytes, boolean syncOnWrite) {
        long records = Math.max(1, budgetBytes / Math.max(1, messageBytes)) + 1;
        long needed = budgetBytes + records * 4 + messageBytes + (1 << 20);
        long capacity = Math.min(Integer.MAX_VALUE & ~4095L, Math.max(1 << 20, needed));
        return PeerOptions.defaults().withRawCapacity(capacity).withSyncOnWrite(syncOnWrite);
    }

    /**
     * Runs both phases.
     *
     * @return the write result, then the read result.
     */
    public List<ThroughputResult> run() {
        byte[] message = new byte[messageBytes];
        new SplittableRandom(42).nextBytes(message);
        long maxMessages = Math.max(1, budgetBytes / Math.max(1, messageBytes));
        int clockEvery = Math.max(1, Math.min(1024, (64 * 1024) / Math.max(1, messageBytes)));
        try (QueuePeer queue = QueuePeer.open(peer, dir,
                optionsFor(budgetBytes, messageBytes, syncOnWrite).withFlushIntervalMs(flushIntervalMs))) {
            long written = 0;
            long start = System.nanoTime();
            long now = start;
            while (written < maxMessages && now - start < budgetNs) {
                queue.enqueue(message);
                written++;
                if (written % clockEvery == 0) {
                    now = System.nanoTime();
                }
            }
            long writeNs = System.nanoTime() - start;

            long read = 0;
            start = System.nanoTime();
            now = start;
            while (read < written && now - start < budgetNs) {
                byte[] got = queue.dequeue();
                if (got == null) {
                    throw new IllegalStateException(peer.label() + " returned no message after " + read
                            + " of " + written);
                }
                if (got.length != messageBytes) {
                    throw new IllegalStateException(peer.label() + " returned a message of " + got.length
                            + " bytes, expected " + messageBytes);
                }
                read++;
                if (read % clockEvery == 0) {
                    now = System.nanoTime();
                }
            }
            long readNs = System.nanoTime() - start;
            return List.of(new ThroughputResult(peer, "write", messageBytes, written, writeNs),
                    new ThroughputResult(peer, "read", messageBytes, read, readNs));
        }
    }
}
