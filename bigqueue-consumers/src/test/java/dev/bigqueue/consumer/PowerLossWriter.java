package dev.bigqueue.consumer;

import dev.bigqueue.BigQueue;
import dev.bigqueue.Message;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.WhenFull;
import dev.bigqueue.testing.Payloads;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

/**
 * The child JVM of {@link LazyFsPowerLossTest}: appends {@link Payloads} messages to a queue on a
 * LazyFS mount until the parent kills it, while a named consumer reads and commits. Each stdout
 * line is one {@code write(2)} made <em>after</em> what it reports returned (a line cut by the
 * kill has no newline and does not count):
 * <ul>
 *   <li>{@code READY}: the queue and the consumer are open.</li>
 *   <li>{@code ACK o t}: {@code enqueue} of offset o returned (with syncOnWrite: o is durable), at
 *       {@code System.nanoTime()} t (CLOCK_MONOTONIC on Linux, the same clock in every process).</li>
 *   <li>{@code FLUSHING} then {@code FLUSHED t}: a {@code flush()} that started after every earlier
 *       line returned; every offset below t, and every commit printed before FLUSHING, is durable.</li>
 *   <li>{@code WILL p}: the consumer is about to make a call that may commit position p (an AUTO
 *       dequeue, or a MANUAL commit); {@code COMMIT p}: that call returned, committed at p.</li>
 *   <li>{@code DURABLE d t}: {@code durableOffset()} returned d at {@code System.nanoTime()} t: every
 *       offset below d is on disk, by whichever flush moved it (mostly the periodic one). The writer
 *       asks after each ACK and prints each new value.</li>
 *   <li>{@code SURE o d}: the {@code whenDurable(o)} future asked for after ACK o completed with d
 *       (every WHEN_DURABLE_EVERY-th message, if that is not 0): o and every offset below d are on disk.</li>
 * </ul>
 * Arguments: {@code DIR SEED TARGET ARENA_BYTES FLUSH_INTERVAL_MS FLUSH_EVERY SYNC_ON_WRITE CONSUMER
 * GC_INTERVAL_MS ARENA_POOL DROP WHEN_DURABLE_EVERY}; DROP is NONE, RETENTION or DROP_OLDEST (see {@link #drops});
 * CONSUMER is AUTO, MANUAL, OWN (the queue's own consumer) or NONE;
 * ARENA_POOL -1: nothing is collected, else arenas the consumer read are collected into a pool. It
 * enqueues about 2 * TARGET messages, at most
 * {@value #MAX_RATE} a second, then waits to be killed. The cap makes a kill point ("after ACK n")
 * also a point in time on a fast machine or a faster core, so that runs meant to span several
 * background flushes do; it decides what a run covers, never whether it passes.
 */
public final class PowerLossWriter {
    static final int MAX_MESSAGE = 4096;
    static final String CONSUMER = "c";
    /** The consumer mode that reads with the queue's own consumer ({@code BigQueue.dequeue}). */
    static final String OWN = "OWN";
    /** Messages a second, at most. */
    static final long MAX_RATE = 5000;
    private static final int PACE_EVERY = 32;
    private static final long RETENTION_MS = 200;
    private static final Duration POLL = Duration.ofMillis(20);

    private static final FileOutputStream OUT = new FileOutputStream(FileDescriptor.out);

    private PowerLossWriter() {
    }

    /** The child's queue settings without garbage collection; the parent reopens with the same arena size. */
    static QueueConfig config(long arenaBytes, long flushIntervalMs, boolean syncOnWrite) {
        return config(arenaBytes, flushIntervalMs, syncOnWrite, 0, -1, "NONE");
    }

    /**
     * With {@code arenaPool} >= 0, consumed arenas are collected every {@code gcIntervalMs}, into a
     * pool of that many files, and only the consumer read in {@code mode} holds them: the queue's
     * own one for OWN, else a named one (the own consumer off). -1: nothing is collected.
     */
    static QueueConfig config(long arenaBytes, long flushIntervalMs, boolean syncOnWrite, long gcIntervalMs,
            int arenaPool, String mode) {
        QueueConfig.Builder b = QueueConfig.builder().arenaSize(arenaBytes)
                .flushInterval(Duration.ofMillis(flushIntervalMs)).syncOnWrite(syncOnWrite)
                .gcInterval(Duration.ofMillis(gcIntervalMs));
        return arenaPool < 0 ? b.build() : b.ownConsumer(mode.equals(OWN)).arenaPool(arenaPool).build();
    }

    /**
     * {@code drop}: NONE; RETENTION, records older than {@value #RETENTION_MS} ms are deleted even
     * if unread; DROP_OLDEST, the oldest arena goes when the queue holds 8 arenas.
     */
    static QueueConfig.Builder drops(QueueConfig.Builder b, String drop, long arenaBytes) {
        switch (drop) {
            case "RETENTION":
                return b.retention(Duration.ofMillis(RETENTION_MS));
            case "DROP_OLDEST":
                return b.maxDiskBytes(8 * arenaBytes).whenFull(WhenFull.DROP_OLDEST);
            default:
                return b;
        }
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        long seed = Long.parseLong(args[1]);
        long target = Long.parseLong(args[2]);
        long arenaBytes = Long.parseLong(args[3]);
        long flushIntervalMs = Long.parseLong(args[4]);
        long flushEvery = Long.parseLong(args[5]);
        boolean syncOnWrite = Boolean.parseBoolean(args[6]);
        String mode = args[7];
        long gcIntervalMs = Long.parseLong(args[8]);
        int arenaPool = Integer.parseInt(args[9]);
        String drop = args[10];
        long whenDurableEvery = Long.parseLong(args[11]);
        BigQueue q = BigQueue.open(dir, drops(config(arenaBytes, flushIntervalMs, syncOnWrite, gcIntervalMs, arenaPool,
                mode).toBuilder(), drop, arenaBytes).build());
        if (!mode.equals("NONE")) {
            Consumer c = mode.equals(OWN) ? null : Consumers.of(q).open(CONSUMER, CommitMode.valueOf(mode));
            Thread reader = new Thread(() -> read(q, c, seed, !drop.equals("NONE")), "consumer");
            reader.setDaemon(true);
            reader.start();
        }
        say("READY");
        long durableSaid = 0;
        long startNs = System.nanoTime();
        for (long n = 0; n < 2 * target + 100; n++) {
            if (n % PACE_EVERY == 0) {
                long aheadNs = startNs + n * 1_000_000_000L / MAX_RATE - System.nanoTime();
                if (aheadNs > 0) {
                    Thread.sleep(aheadNs / 1_000_000, (int) (aheadNs % 1_000_000));
                }
            }
            long offset = q.enqueue(Payloads.payload(seed, q.tailOffset(), MAX_MESSAGE));
            say("ACK " + offset + " " + System.nanoTime());
            long durable = q.durableOffset();
            if (durable > durableSaid) {
                say("DURABLE " + durable + " " + System.nanoTime());
                durableSaid = durable;
            }
            if (whenDurableEvery > 0 && (n + 1) % whenDurableEvery == 0) {
                q.whenDurable(offset).thenAccept(d -> say("SURE " + offset + " " + d));
            }
            if (flushEvery > 0 && (n + 1) % flushEvery == 0) {
                long tail = q.tailOffset();
                say("FLUSHING");
                q.flush();
                say("FLUSHED " + tail);
            }
        }
        Thread.sleep(Long.MAX_VALUE);
    }

    /**
     * Reads every message with {@code c}, or with the queue's own consumer if it is null, checks it
     * against the payload of its offset, and commits: after each dequeue (AUTO and the own consumer:
     * the message handed out last is the committed one) or every few (MANUAL). {@code slow}: about
     * a millisecond per message, so that the consumer lags and records are dropped under it.
     */
    private static void read(BigQueue q, Consumer c, long seed, boolean slow) {
        boolean own = c == null;
        boolean manual = !own && c.commitMode() == CommitMode.MANUAL;
        try {
            long n = 0;
            for (;;) {
                long expected = own ? q.headOffset() : c.position();
                if (!manual) {
                    say("WILL " + (expected + 1));
                }
                Message m = own ? q.dequeueMessage(POLL) : c.dequeueMessage(POLL);
                if (m == null) {
                    continue;
                }
                // Only a drop may move the consumer past a message.
                if ((!slow && m.offset() != expected)
                        || !Arrays.equals(Payloads.payload(seed, m.offset(), MAX_MESSAGE), m.value())) {
                    say("DAMAGED " + m.offset());
                    System.exit(4);
                }
                n++;
                if (manual && n % 7 == 0) {
                    say("WILL " + c.position());
                    c.commit();
                }
                if (own) {
                    say("COMMIT " + m.offset());
                } else if (!manual || n % 7 == 0) {
                    say("COMMIT " + c.committedPosition());
                }
                if (slow) {
                    Thread.sleep(1);
                }
            }
        } catch (Throwable e) {
            e.printStackTrace();
            System.exit(3);
        }
    }

    /** One line, one write(2): a kill leaves either all of it or a partial line without newline. */
    private static synchronized void say(String line) {
        try {
            OUT.write((line + "\n").getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
