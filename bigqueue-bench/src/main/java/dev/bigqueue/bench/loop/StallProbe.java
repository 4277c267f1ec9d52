package dev.bigqueue.bench.loop;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Finds the calls that stall: a producer paced at {@code rate} messages of 128 B per second for
 * {@code seconds}, optionally with a consumer spinning on {@code dequeue()}, printing every
 * {@code enqueue} and {@code dequeue} that took over 1 ms with the time it started. Where bench's
 * latency percentiles say that there is a tail, this says when and in which thread, to line up with
 * {@code perf record -e sched:sched_switch} or the flush interval.
 *
 * <pre>
 * java -cp bigqueue-bench/target/bigqueue.jar dev.bigqueue.bench.loop.StallProbe
 *     [flushIntervalMs=1000] [seconds=6] [consumer=true] [rate=100000] [dir]
 * </pre>
 */
public final class StallProbe {
    private static final long STALL_NS = 1_000_000;

    private StallProbe() {
    }

    public static void main(String[] args) throws Exception {
        long flushMs = args.length > 0 ? Long.parseLong(args[0]) : 1000;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 6;
        boolean consumer = args.length <= 2 || Boolean.parseBoolean(args[2]);
        long rate = args.length > 3 ? Long.parseLong(args[3]) : 100_000;
        Path parent = args.length > 4 ? Path.of(args[4]) : Path.of(System.getProperty("java.io.tmpdir"));
        List<String> stalls = run(flushMs, seconds * rate, rate, consumer, parent);
        stalls.forEach(System.out::println);
        System.out.println(stalls.size() + " calls over 1 ms");
    }

    /** The stalls of {@code messages} enqueues at {@code rate} per second, each as a line. */
    static List<String> run(long flushMs, long messages, long rate, boolean withConsumer, Path parent)
            throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory(parent, "stall-probe");
        List<String> stalls = Collections.synchronizedList(new ArrayList<>());
        long t0 = System.nanoTime();
        try (BigQueue q = BigQueue.open(dir, QueueConfig.builder().flushInterval(Duration.ofMillis(flushMs)).build())) {
            Thread consumer = new Thread(() -> {
                try {
                    while (!Thread.currentThread().isInterrupted()) {
                        long s = System.nanoTime();
                        byte[] b = q.dequeue();
                        note(stalls, "consumer", "dequeue", t0, s, System.nanoTime());
                        if (b == null) {
                            Thread.onSpinWait();
                        }
                    }
                } catch (RuntimeException closed) {
                    // the queue closed: done
                }
            }, "stall-probe-consumer");
            if (withConsumer) {
                consumer.start();
            }
            byte[] message = new byte[128];
            long intervalNs = 1_000_000_000L / rate;
            long next = System.nanoTime();
            for (long i = 0; i < messages; i++) {
                while (System.nanoTime() < next) {
                    Thread.onSpinWait();
                }
                long s = System.nanoTime();
                q.enqueue(message);
                note(stalls, "producer", "enqueue", t0, s, System.nanoTime());
                next += intervalNs;
            }
            consumer.interrupt();
            consumer.join();
        } finally {
            EnqueueLoop.delete(dir);
        }
        return new ArrayList<>(stalls);
    }

    private static void note(List<String> stalls, String thread, String call, long t0, long start, long end) {
        if (end - start > STALL_NS) {
            stalls.add(String.format("%-8s %8.3f s %s %6.2f ms", thread, (start - t0) / 1e9, call,
                    (end - start) / 1e6));
        }
    }
}
