package dev.bigqueue.bench.run;

import dev.bigqueue.bench.peer.PeerOptions;
import dev.bigqueue.bench.peer.PeerType;
import dev.bigqueue.bench.peer.QueuePeer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Write throughput then read throughput of one peer for one message size, in one fresh queue
 * directory: enqueue the same message (random bytes) until the time or byte budget is spent,
 * then read everything back: the first half one {@code dequeue()} at a time ({@code read}), the
 * second half in batches of {@value #DRAIN_BATCH} ({@code drain}: bigqueue's {@code drainTo};
 * the peers, which have no batch read, one message at a time into the batch). All phases run on
 * the calling thread; the time is read every few messages so the clock does not weigh on small
 * messages. Writes land in the page cache: nothing is forced to disk inside a phase (Tape forces
 * every operation by design).
 */
public final class ThroughputRun {
    /** The phases, in the order they run and are reported. */
    public static final List<String> OPERATIONS = List.of("write", "read", "drain");
    /** Messages per batch of the drain phase. */
    static final int DRAIN_BATCH = 256;
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

            long half = (written + 1) / 2;
            long read = 0;
            start = System.nanoTime();
            now = start;
            while (read < half && now - start < budgetNs) {
                checkSize(queue.dequeue(), read, written);
                read++;
                if (read % clockEvery == 0) {
                    now = System.nanoTime();
                }
            }
            long readNs = System.nanoTime() - start;

            List<byte[]> batch = new ArrayList<>(DRAIN_BATCH);
            long toDrain = written - half;
            long drained = 0;
            start = System.nanoTime();
            now = start;
            while (drained < toDrain && now - start < budgetNs) {
                batch.clear();
                int n = queue.drainTo(batch, (int) Math.min(DRAIN_BATCH, toDrain - drained));
                if (n == 0) {
                    checkSize(null, half + drained, written);
                }
                for (int i = 0; i < n; i++) {
                    checkSize(batch.get(i), half + drained + i, written);
                }
                long before = drained;
                drained += n;
                if (drained / clockEvery != before / clockEvery) {
                    now = System.nanoTime();
                }
            }
            long drainNs = System.nanoTime() - start;
            return List.of(new ThroughputResult(peer, "write", messageBytes, written, writeNs),
                    new ThroughputResult(peer, "read", messageBytes, read, readNs),
                    new ThroughputResult(peer, "drain", messageBytes, drained, drainNs));
        }
    }

    /** Fails the run if a read came back empty or with a message of the wrong size. */
    private void checkSize(byte[] got, long readSoFar, long written) {
        if (got == null) {
            throw new IllegalStateException(peer.label() + " returned no message after " + readSoFar + " of "
                    + written);
        }
        if (got.length != messageBytes) {
            throw new IllegalStateException(peer.label() + " returned a message of " + got.length
                    + " bytes, expected " + messageBytes);
        }
    }
}
