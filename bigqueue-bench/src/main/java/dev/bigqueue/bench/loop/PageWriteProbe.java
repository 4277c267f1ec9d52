package dev.bigqueue.bench.loop;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The bound under "enqueue 4 MB with a warm arena pool" against the raw peer: what writing 4 MB
 * chunks into a mapped file costs, with no queue at all, when its pages are (1) not in the page
 * cache yet, (2) resident but clean because they were written back (a pooled arena after the
 * periodic flush: the kernel write-protects written-back pages, and the first store to each page
 * takes a fault), and (3) resident and still dirty (what the raw peer rewrites: it never syncs).
 * A queue that makes its data durable writes into pages of kind (1) or (2); the raw peer into (3).
 *
 * <pre>
 * java -cp bigqueue-bench/target/bigqueue.jar dev.bigqueue.bench.loop.PageWriteProbe [mib=256] [dir]
 * </pre>
 */
public final class PageWriteProbe {
    private static final int CHUNK = 4 << 20;

    private PageWriteProbe() {
    }

    public static void main(String[] args) throws IOException {
        run(EnqueueLoop.intArg(args, 0, 256), EnqueueLoop.dirArg(args, 1), 4).forEach(System.out::println);
    }

    /** GB/s of a first pass into a cold file, then {@code rounds} of (force, pass, pass again); formatted lines. */
    static List<String> run(int mib, Path parent, int rounds) throws IOException {
        long size = (long) mib << 20;
        if (size < CHUNK || size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("mib must be 4..2047, was " + mib);
        }
        byte[] chunk = new byte[CHUNK];
        for (int i = 0; i < chunk.length; i++) {
            chunk[i] = (byte) (i * 31);
        }
        List<String> out = new ArrayList<>();
        Path file = Files.createTempFile(parent, "page-write-probe", ".dat");
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(size);
            MappedByteBuffer m = f.getChannel().map(FileChannel.MapMode.READ_WRITE, 0, size);
            out.add(pass(m, chunk, "cold page cache (first write)"));
            for (int r = 0; r < rounds; r++) {
                m.force();
                out.add(pass(m, chunk, "resident, clean (after a write-back)"));
                out.add(pass(m, chunk, "resident, dirty (no write-back since)"));
            }
        } finally {
            Files.deleteIfExists(file);
        }
        return out;
    }

    private static String pass(MappedByteBuffer m, byte[] chunk, String what) {
        long t0 = System.nanoTime();
        for (int at = 0; at + chunk.length <= m.capacity(); at += chunk.length) {
            m.put(at, chunk);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        return String.format("%-40s %6.2f GB/s", what, m.capacity() / seconds / 1e9);
    }
}
