package dev.bigqueue.bench.run;

import dev.bigqueue.bench.peer.PeerOptions;
import dev.bigqueue.bench.peer.PeerType;
import dev.bigqueue.bench.peer.QueuePeer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.HdrHistogram.Recorder;

/**
 * The workload that started this family of tools: many writer threads, each writing a fixed number
 * of records of about 100 KB on a fixed schedule (one per millisecond), while many reader threads
 * wake on their own schedule (every 2 ms) and take whatever has arrived, competing for messages.
 * Reports writes/s, reads/s and the latency from each record's scheduled write time to its read.
 *
 * <p>Peers whose reader is single-threaded (Chronicle's tailer) get their dequeue serialised by a
 * lock; the raw peer, single-producer by design, cannot take part.
 */
public final class WorkloadRun {

    /**
     * The shape of the workload.
     *
     * @param writers          writer threads.
     * @param recordsPerWriter records each writer writes.
     * @param recordBytes      payload bytes per record (at least 16).
     * @param writeIntervalNs  time between one writer's records.
     * @param readers          reader threads.
     * @param readIntervalNs   time between one reader's wake-ups.
     * @param timeoutNs        longest time to wait for the readers after the last write.
     */
    public record Shape(int writers, int recordsPerWriter, int recordBytes, long writeIntervalNs, int readers,
                        long readIntervalNs, long timeoutNs) {
        public Shape {
            if (writers < 1 || readers < 1 || recordsPerWriter < 1 || recordBytes < 16) {
                throw new IllegalArgumentException("workload needs at least 1 writer, 1 reader, 1 record and 16-byte"
                        + " records; got " + writers + " writers, " + readers + " readers, " + recordsPerWriter
                        + " records of " + recordBytes + " bytes");
            }
        }

        public long totalRecords() {
            return (long) writers * recordsPerWriter;
        }
    }

    /**
     * What one peer did.
     *
     * @param peer      the queue.
     * @param written   records enqueued.
     * @param read      records dequeued.
     * @param writeNs   time from the start until the last write returned.
     * @param readNs    time from the start until the last read.
     * @param latency   scheduled write to read, in ns.
     */
    public record Result(PeerType peer, long written, long read, long writeNs, long readNs,
                         org.HdrHistogram.Histogram latency) {
        public double writesPerSecond() {
            return writeNs == 0 ? 0 : written * 1e9 / writeNs;
        }

        public double readsPerSecond() {
            return readNs == 0 ? 0 : read * 1e9 / readNs;
        }
    }

    private final Path dir;
    private final PeerType peer;
    private final Shape shape;

    public WorkloadRun(Path dir, PeerType peer, Shape shape) {
        if (peer == PeerType.RAW_MAPPED) {
            throw new IllegalArgumentException("the raw peer takes one producer only; it cannot run this workload");
        }
        this.dir = dir;
        this.peer = peer;
        this.shape = shape;
    }

    /** Runs the writers and readers and waits for them. */
    public Result run() throws InterruptedException {
        Recorder recorder = new Recorder(TimeUnit.SECONDS.toNanos(600), 3);
        AtomicLong written = new AtomicLong();
        AtomicLong read = new AtomicLong();
        AtomicLong lastWriteNs = new AtomicLong();
        AtomicLong lastReadNs = new AtomicLong();
        ReentrantLock readLock = peer == PeerType.CHRONICLE ? new ReentrantLock() : null;
        Throwable[] failure = new Throwable[1];
        try (QueuePeer queue = QueuePeer.open(peer, dir, PeerOptions.defaults())) {
            long startNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50);
            List<Thread> writers = new ArrayList<>();
            for (int w = 0; w < shape.writers(); w++) {
                writers.add(thread("workload-writer-" + w, failure, () -> {
                    byte[] record = new byte[shape.recordBytes()];
                    ByteBuffer header = ByteBuffer.wrap(record).order(ByteOrder.LITTLE_ENDIAN);
                    for (int i = 0; i < shape.recordsPerWriter(); i++) {
                        long scheduledNs = startNs + i * shape.writeIntervalNs();
                        parkUntil(scheduledNs);
                        header.putLong(0, scheduledNs);
                        queue.enqueue(record);
                        written.incrementAndGet();
                        lastWriteNs.accumulateAndGet(System.nanoTime(), Math::max);
                    }
                }));
            }
            long total = shape.totalRecords();
            List<Thread> readers = new ArrayList<>();
            for (int r = 0; r < shape.readers(); r++) {
                long offsetNs = shape.readIntervalNs() * r / shape.readers();
                readers.add(thread("workload-reader-" + r, failure, () -> {
                    for (long tick = 0; read.get() < total; tick++) {
                        parkUntil(startNs + offsetNs + tick * shape.readIntervalNs());
                        if (allWritten(written, total) && System.nanoTime() > lastWriteNs.get() + shape.timeoutNs()) {
                            return;
                        }
                        byte[] record;
                        while ((record = dequeue(queue, readLock)) != null) {
                            long now = System.nanoTime();
                            long scheduledNs = ByteBuffer.wrap(record).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
                            recorder.recordValue(Math.min(TimeUnit.SECONDS.toNanos(600),
                                    Math.max(0, now - scheduledNs)));
                            read.incrementAndGet();
                            lastReadNs.accumulateAndGet(now, Math::max);
                        }
                    }
                }));
            }
            readers.forEach(Thread::start);
            writers.forEach(Thread::start);
            for (Thread t : writers) {
                t.join();
            }
            for (Thread t : readers) {
                t.join();
            }
            if (failure[0] != null) {
                throw new IllegalStateException(peer.label() + " workload failed: " + failure[0], failure[0]);
            }
            return new Result(peer, written.get(), read.get(), Math.max(0, lastWriteNs.get() - startNs),
                    Math.max(0, lastReadNs.get() - startNs), recorder.getIntervalHistogram());
        }
    }

    private static boolean allWritten(AtomicLong written, long total) {
        return written.get() >= total;
    }

    private static byte[] dequeue(QueuePeer queue, ReentrantLock lock) {
        if (lock == null) {
            return queue.dequeue();
        }
        lock.lock();
        try {
            return queue.dequeue();
        } finally {
            lock.unlock();
        }
    }

    private static void parkUntil(long deadlineNs) {
        long waitNs;
        while ((waitNs = deadlineNs - System.nanoTime()) > 0) {
            LockSupport.parkNanos(waitNs);
        }
    }

    private static Thread thread(String name, Throwable[] failure, Runnable body) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                synchronized (failure) {
                    if (failure[0] == null) {
                        failure[0] = e;
                    }
                }
            }
        }, name);
        t.setDaemon(true);
        return t;
    }
}
