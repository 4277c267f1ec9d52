package dev.bigqueue.bench.kv;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.consumer.LatestValues;
import dev.bigqueue.consumer.LatestValuesOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;

/**
 * The key-value benchmarks of issue 11, one run, peers in turns:
 * <ul>
 * <li>{@code workload}: W writer and R reader threads, closed loop, on K keys whose values are
 * about 100 KB of about 100 text fields; Get and Put latency (HdrHistogram) and throughput, for
 * bigqueue's LatestValues and for a ConcurrentHashMap with a Chronicle Queue journal. With
 * {@code -Dkv.putRate=N} the writers put N values per second in all, on a fixed schedule (put
 * latency counted from the scheduled moment, so a stall is not hidden): readers then compare on
 * the same write load. In the closed loop the faster store's writers take more of the cores,
 * and its readers get fewer.
 * <li>{@code startup}: time to open a LatestValues of N small keys with and without a checkpoint,
 * and the size of the history on disk.
 * </ul>
 * Run: {@code java $(chronicle flags) -cp bigqueue-bench/target/bigqueue.jar
 * dev.bigqueue.bench.kv.KeyValueBench workload|startup [-Dkv.seconds=20 -Dkv.writers=2 ...]}.
 */
public final class KeyValueBench {
    private KeyValueBench() {
    }

    public static void main(String[] args) throws Exception {
        Path base = Files.createTempDirectory(Path.of(System.getProperty("kv.dir", "/tmp")), "kvbench-");
        try {
            if (args.length == 0 || args[0].equals("workload")) {
                workload(base);
            }
            if (args.length == 0 || args[0].equals("startup")) {
                startup(base);
            }
        } finally {
            deleteTree(base);
        }
    }

    // ------------------------------------------------------------------ (a) workload

    private static void workload(Path base) throws Exception {
        int writers = Integer.getInteger("kv.writers", 2);
        int readers = Integer.getInteger("kv.readers", 2);
        int keys = Integer.getInteger("kv.keys", 1000);
        int seconds = Integer.getInteger("kv.seconds", 20);
        int warmup = Integer.getInteger("kv.warmup", 5);
        int putRate = Integer.getInteger("kv.putRate", 0);
        byte[][] values = new byte[16][];
        Random r = new Random(1);
        for (int i = 0; i < values.length; i++) {
            values[i] = record(r, 100, 1000);
        }
        System.out.printf("workload: %d writers (%s), %d readers, %d keys, values %d bytes (100 fields), %d s measured"
                + " after %d s warm-up, per peer%n", writers, putRate > 0 ? putRate + " puts/s in all" : "closed loop",
                readers, keys, values[0].length, seconds, warmup);
        System.out.println("| store | put/s | put MB/s | put p50 | put p99 | put p99.9 | get/s | get p50 | get p99"
                + " | get p99.9 |");
        System.out.println("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        List<Function<Path, KvPeer>> peers = List.of(BigQueueKv::new, ChronicleKv::new);
        int i = 0;
        for (Function<Path, KvPeer> make : peers) {
            Path dir = base.resolve("peer" + i++);
            try (KvPeer peer = make.apply(dir)) {
                for (int k = 0; k < keys; k++) {
                    peer.put(key(k), values[k % values.length]);
                }
                runWorkload(peer, writers, readers, keys, values, warmup, seconds, putRate);
            }
            deleteTree(dir);
        }
    }

    private static void runWorkload(KvPeer peer, int writers, int readers, int keys, byte[][] values, int warmup,
            int seconds, int putRate) throws InterruptedException {
        // Each writer's interval between scheduled puts; 0: closed loop.
        long intervalNs = putRate > 0 ? Math.max(1, 1_000_000_000L * writers / putRate) : 0;
        AtomicBoolean recording = new AtomicBoolean();
        AtomicBoolean stop = new AtomicBoolean();
        List<Histogram> puts = new ArrayList<>();
        List<Histogram> gets = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < writers + readers; t++) {
            boolean writer = t < writers;
            Histogram h = new Histogram(3_600_000_000_000L, 3);
            (writer ? puts : gets).add(h);
            Thread th = new Thread(() -> {
                ThreadLocalRandom rnd = ThreadLocalRandom.current();
                long sink = 0;
                long due = System.nanoTime();
                while (!stop.get()) {
                    String k = key(rnd.nextInt(keys));
                    long t0 = System.nanoTime();
                    if (writer && intervalNs > 0) {
                        due += intervalNs;
                        while (t0 - due < 0 && !stop.get()) {
                            LockSupport.parkNanos(due - t0);
                            t0 = System.nanoTime();
                        }
                        t0 = due;
                    }
                    if (writer) {
                        peer.put(k, values[rnd.nextInt(values.length)]);
                    } else {
                        byte[] v = peer.get(k);
                        sink += v == null ? 0 : v.length;
                    }
                    long dt = System.nanoTime() - t0;
                    if (recording.get()) {
                        h.recordValue(dt);
                    }
                }
                if (sink == 42) {
                    System.out.print("");
                }
            }, (writer ? "writer-" : "reader-") + t);
            th.start();
            threads.add(th);
        }
        Thread.sleep(warmup * 1000L);
        recording.set(true);
        long t0 = System.nanoTime();
        Thread.sleep(seconds * 1000L);
        recording.set(false);
        double elapsed = (System.nanoTime() - t0) / 1e9;
        stop.set(true);
        for (Thread th : threads) {
            th.join();
        }
        Histogram put = merge(puts);
        Histogram get = merge(gets);
        double putsPerSecond = put.getTotalCount() / elapsed;
        System.out.printf("| %s | %,.0f | %,.0f | %s | %s | %s | %,.0f | %s | %s | %s |%n", peer.name(), putsPerSecond,
                putsPerSecond * values[0].length / 1e6, us(put, 50), us(put, 99), us(put, 99.9),
                get.getTotalCount() / elapsed, us(get, 50), us(get, 99), us(get, 99.9));
    }

    private static Histogram merge(List<Histogram> hs) {
        Histogram all = new Histogram(3_600_000_000_000L, 3);
        hs.forEach(all::add);
        return all;
    }

    private static String us(Histogram h, double p) {
        return String.format("%,.1f µs", h.getValueAtPercentile(p) / 1000.0);
    }

    private static String key(int k) {
        return "key-" + k;
    }

    /** A text record of {@code fields} fields of about {@code fieldBytes} bytes each: {"f0":"...",...}. */
    private static byte[] record(Random r, int fields, int fieldBytes) {
        StringBuilder s = new StringBuilder("{");
        for (int f = 0; f < fields; f++) {
            s.append(f == 0 ? "" : ",").append("\"f").append(f).append("\":\"");
            for (int c = 0; c < fieldBytes; c++) {
                s.append((char) ('a' + r.nextInt(26)));
            }
            s.append('"');
        }
        return s.append('}').toString().getBytes(StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------ (b) start-up

    private static void startup(Path base) throws IOException {
        int n = Integer.getInteger("kv.startupKeys", 1_000_000);
        Path dir = base.resolve("startup");
        QueueConfig config = QueueConfig.builder().ownConsumer(false).build();
        LatestValuesOptions noCheckpoints = LatestValuesOptions.builder().checkpointEveryBytes(0)
                .checkpointInterval(Duration.ZERO).checkpointOnClose(false).build();
        long t0 = System.nanoTime();
        try (BigQueue q = BigQueue.open(dir, config); LatestValues lv = LatestValues.open(q, "s", noCheckpoints)) {
            for (int i = 0; i < n; i++) {
                lv.put(String.format("key-%07d", i), ("value-" + i + "-abcdefghij").getBytes(StandardCharsets.UTF_8));
            }
        }
        System.out.printf("%nstart-up: %,d keys (key 11 B, value ~24 B) written in %.1f s; history %s in %s%n", n,
                (System.nanoTime() - t0) / 1e9, mb(sizeOf(dir, "arena-")), dir);
        System.out.println("| open | keys | time | replayed records | snapshot |");
        System.out.println("| --- | ---: | ---: | ---: | ---: |");
        for (int run = 0; run < 2; run++) {
            timeOpen(dir, config, noCheckpoints, "without checkpoint (full replay), run " + (run + 1));
        }
        try (BigQueue q = BigQueue.open(dir, config); LatestValues lv = LatestValues.open(q, "s", noCheckpoints)) {
            long c0 = System.nanoTime();
            lv.checkpoint();
            System.out.printf("(checkpoint of %,d keys: %.2f s)%n", lv.size(), (System.nanoTime() - c0) / 1e9);
        }
        for (int run = 0; run < 2; run++) {
            timeOpen(dir, config, noCheckpoints, "with checkpoint, run " + (run + 1));
        }
    }

    private static void timeOpen(Path dir, QueueConfig config, LatestValuesOptions opts, String label)
            throws IOException {
        long t0 = System.nanoTime();
        try (BigQueue q = BigQueue.open(dir, config); LatestValues lv = LatestValues.open(q, "s", opts)) {
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.printf("| %s | %,d | %.2f s | %,d | %s |%n", label, lv.size(), s,
                    lv.followedOffset() - lv.checkpointOffset(), mb(sizeOf(dir.resolve("latest"), "s-")));
        }
    }

    private static long sizeOf(Path dir, String prefix) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith(prefix)).mapToLong(p -> p.toFile().length())
                    .sum();
        }
    }

    private static String mb(long bytes) {
        return String.format("%.1f MB", bytes / 1e6);
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
