package dev.bigqueue.bench;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32C;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * What checking a record costs before anything else a queue does: the floor under
 * {@link DequeueBenchmark}'s "bigqueue against the raw peer" ratios. One mapped file holds
 * {@value #BATCH} records laid out as bigqueue lays them out ({@code [length 4][checksum 4]
 * [stamp 8][payload]}, CRC32C over stamp and payload), hot in the CPU cache as in
 * DequeueBenchmark; each benchmark walks them with no lock, no pin, no commit and no volatile:
 * <ul>
 * <li>{@code copy}: each payload into a new array (what the raw peer's dequeue does, minus its
 *     publication);
 * <li>{@code copyChecked}: the same, after one CRC32C over the mapped stamp and payload and a
 *     compare (the cheapest way a queue that promises "a damaged record is never returned" can
 *     dequeue);
 * <li>{@code copyCheckedPinned}: the same, inside the two atomic steps bigqueue's design takes per
 *     dequeue besides the copy: a lock (one CAS, one release store: threads sharing a consumer get
 *     each message once) and a pin of the arena (a CAS to pin, one to unpin: close and eviction never
 *     unmap under a read);
 * <li>{@code view}: each payload as a read-only view of the mapping (the raw peer's read);
 * <li>{@code viewChecked}: the same, after the check.
 * </ul>
 * {@code copyChecked} and {@code viewChecked}, divided by the raw peer's {@code dequeue} and
 * {@code read} in the same run, bound what any checked dequeue and read can reach against the raw
 * peer on this machine, since nothing in those loops is optional; {@code copyCheckedPinned} does
 * the same for bigqueue's design.
 *
 * <pre>
 * ./bigqueue jmh 'ChecksumFloorBenchmark|DequeueBenchmark.(dequeue|read)$' \
 *     -p peer=BIGQUEUE,RAW_MAPPED -p messageSize=128
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ChecksumFloorBenchmark {
    /** Records per invocation, as in {@link DequeueBenchmark}. */
    public static final int BATCH = DequeueBenchmark.BATCH;
    private static final int HEADER = 8;
    private static final int STAMP = 8;

    @Param({"128", "4096"})
    public int messageSize;

    private Path dir;
    private RandomAccessFile file;
    private MappedByteBuffer mapped;
    private ByteBuffer view;
    private ByteBuffer checked;
    private final CRC32C crc = new CRC32C();
    private int recordBytes;
    private final AtomicInteger lock = new AtomicInteger();
    private final AtomicInteger pin = new AtomicInteger();

    @Setup(Level.Trial)
    public void write() throws IOException {
        recordBytes = (HEADER + STAMP + messageSize + 7) & ~7;
        dir = BenchmarkDirs.create("checksum-floor");
        file = new RandomAccessFile(dir.resolve("records").toFile(), "rw");
        mapped = file.getChannel().map(FileChannel.MapMode.READ_WRITE, 0, (long) recordBytes * BATCH);
        mapped.order(ByteOrder.LITTLE_ENDIAN);
        byte[] message = BenchmarkDirs.message(messageSize);
        for (int i = 0; i < BATCH; i++) {
            int at = i * recordBytes;
            mapped.putInt(at, messageSize);
            mapped.putLong(at + HEADER, System.currentTimeMillis() << 8);
            mapped.put(at + HEADER + STAMP, message);
            crc.reset();
            crc.update(mapped.duplicate().position(at + HEADER).limit(at + HEADER + STAMP + messageSize));
            mapped.putInt(at + 4, (int) crc.getValue());
        }
        view = mapped.asReadOnlyBuffer();
        checked = mapped.duplicate();
    }

    @TearDown(Level.Trial)
    public void close() {
        try {
            file.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        mapped = null;
        view = null;
        checked = null;
        BenchmarkDirs.delete(dir);
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void copy(Blackhole blackhole) {
        for (int i = 0, at = 0; i < BATCH; i++, at += recordBytes) {
            byte[] out = new byte[mapped.getInt(at)];
            mapped.get(at + HEADER + STAMP, out);
            blackhole.consume(out);
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void copyChecked(Blackhole blackhole) {
        for (int i = 0, at = 0; i < BATCH; i++, at += recordBytes) {
            int length = mapped.getInt(at);
            check(at, length);
            byte[] out = new byte[length];
            mapped.get(at + HEADER + STAMP, out);
            blackhole.consume(out);
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void copyCheckedPinned(Blackhole blackhole) {
        for (int i = 0, at = 0; i < BATCH; i++, at += recordBytes) {
            if (!lock.compareAndSet(0, 1)) {
                throw new IllegalStateException("lock held");
            }
            try {
                int pins = pin.get();
                if (!pin.compareAndSet(pins, pins + 1)) {
                    throw new IllegalStateException("pin raced");
                }
                int length = mapped.getInt(at);
                byte[] out;
                try {
                    check(at, length);
                    out = new byte[length];
                    mapped.get(at + HEADER + STAMP, out);
                } finally {
                    pins = pin.get();
                    pin.compareAndSet(pins, pins - 1);
                }
                blackhole.consume(out);
            } finally {
                lock.lazySet(0);
            }
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void view(Blackhole blackhole) {
        for (int i = 0, at = 0; i < BATCH; i++, at += recordBytes) {
            int start = at + HEADER + STAMP;
            view.limit(start + mapped.getInt(at)).position(start);
            blackhole.consume(view.get(view.limit() - 1));
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void viewChecked(Blackhole blackhole) {
        for (int i = 0, at = 0; i < BATCH; i++, at += recordBytes) {
            int length = mapped.getInt(at);
            check(at, length);
            int start = at + HEADER + STAMP;
            view.limit(start + length).position(start);
            blackhole.consume(view.get(view.limit() - 1));
        }
    }

    private void check(int at, int length) {
        crc.reset();
        checked.limit(at + HEADER + STAMP + length).position(at + HEADER);
        crc.update(checked);
        if ((int) crc.getValue() != mapped.getInt(at + 4)) {
            throw new IllegalStateException("checksum mismatch at byte " + at);
        }
    }
}
