package dev.bigqueue.consumer;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.WhenFull;
import dev.bigqueue.consumer.Watchdog.Out;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The child JVM of {@link ProgressTest}: runs of one mix of calls, each a bounded number of calls
 * per thread, watched by a {@link Watchdog} that halts the JVM with a thread dump if no call
 * completes for {@code bigqueue.progress.stallSeconds} (default 30). Arguments:
 * {@code MIX DIR RUNS CALLS SEED}; each run gets a fresh queue directory and a random
 * configuration from the seed. Prints {@code RUN n ok ...} per run and {@code DONE} (exit 0), or
 * {@code RUN n FAIL ...} (exit 1).
 *
 * <ul>
 *   <li>{@code shared}: maxInMemoryArenas 1 or 2, arenas of 4 to 64 KiB; two producers, two
 *       threads sharing one named consumer (requeue, seek, seekToEnd, seekToBeginning, drainTo,
 *       dequeue, peek...), a reader of the queue's own consumer.</li>
 *   <li>{@code dropOldest}: maxDiskBytes with DROP_OLDEST; two producers, a named consumer read
 *       now and then, one never read, the queue's own consumer, and flush/gc/size calls.</li>
 *   <li>{@code block}: maxDiskBytes with BLOCK; two producers and two threads sharing the one
 *       consumer, which frees the space the producers wait for. Every message must arrive once.</li>
 * </ul>
 */
public final class ProgressChild {
    private ProgressChild() {
    }

    public static void main(String[] args) throws Exception {
        String mix = args[0];
        Path base = Path.of(args[1]);
        int runs = Integer.parseInt(args[2]);
        int calls = Integer.parseInt(args[3]);
        long seed = Long.parseLong(args[4]);
        Watchdog dog = Watchdog.start(Duration.ofSeconds(Integer.getInteger("bigqueue.progress.stallSeconds", 30)));
        for (int n = 0; n < runs; n++) {
            long runSeed = seed * 1_000_003L + n;
            Run run = new Run(mix, base.resolve("run-" + n), n, calls, new Random(runSeed), dog);
            dog.doing("run " + n + " (seed " + runSeed + ", " + run.config + ")");
            List<String> failures = run.go();
            if (!failures.isEmpty()) {
                Out.line("RUN " + n + " FAIL (run seed " + runSeed + ", " + run.config + "):");
                for (String f : failures) {
                    Out.block("  - " + f.replace("\n", "\n    "));
                }
                Runtime.getRuntime().halt(1);
            }
            Out.line("RUN " + n + " ok " + run.summary + ", " + run.config);
            Children.deleteTree(base.resolve("run-" + n));
        }
        Out.line("DONE");
        Runtime.getRuntime().halt(0);
    }

    /** One run: a queue, its threads, each with a bounded number of calls. */
    static final class Run {
        private static final int PRODUCERS = 2;

        final QueueConfig config;
        private final String mix;
        private final Path dir;
        private final int calls;
        private final Random random;
        private final Watchdog dog;
        private final int maxSize;
        private final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        private final AtomicLong received = new AtomicLong();
        private final BitSet[] seen = new BitSet[PRODUCERS];
        private String summary = "";

        Run(String mix, Path dir, int n, int calls, Random r, Watchdog dog) {
            this.mix = mix;
            this.dir = dir;
            this.calls = calls;
            this.random = r;
            this.dog = dog;
            // 4 .. 64 KiB; in the shared mix mostly small ones: a switch of arena every few messages is
            // when a producer and a reader meet over the one mapping maxInMemoryArenas 1 allows.
            long arena = 1024L << (2 + ("shared".equals(mix) && n % 3 != 2 ? r.nextInt(2) : r.nextInt(5)));
            QueueConfig.Builder b = QueueConfig.builder().arenaSize(arena)
                    .flushInterval(r.nextBoolean() ? Duration.ZERO : Duration.ofMillis(10))
                    .gcInterval(r.nextBoolean() ? Duration.ZERO : Duration.ofMillis(5))
                    .pretouch(r.nextBoolean());
            switch (mix) {
                case "shared":
                    b.maxInMemoryArenas(1 + n % 2);
                    maxSize = (int) (3 * arena);
                    break;
                case "dropOldest":
                    b.maxInMemoryArenas(1 + r.nextInt(3)).maxDiskBytes(arena * (3 + r.nextInt(3)))
                            .whenFull(WhenFull.DROP_OLDEST);
                    maxSize = (int) arena;
                    break;
                case "block":
                    // Messages of at most a quarter arena and room for four or more: the consumer's
                    // last message and the next one always fit, whatever the consumer holds.
                    b.maxInMemoryArenas(new int[] {1, 2, 3, 0}[r.nextInt(4)]).maxDiskBytes(arena * (4 + r.nextInt(3)))
                            .whenFull(WhenFull.BLOCK).ownConsumer(false);
                    maxSize = (int) arena / 4;
                    break;
                default:
                    throw new IllegalArgumentException("unknown mix " + mix + "; use shared, dropOldest or block");
            }
            this.config = b.build();
            for (int p = 0; p < PRODUCERS; p++) {
                seen[p] = new BitSet();
            }
        }

        List<String> go() throws InterruptedException {
            BigQueue q = BigQueue.open(dir, config);
            Consumers consumers = Consumers.of(q);
            List<Thread> threads = new ArrayList<>();
            for (int p = 0; p < PRODUCERS; p++) {
                int producer = p;
                threads.add(thread("producer-" + p, calls, (r, i) -> {
                    CallMix.produce(q, r, producer, i, maxSize);
                    return true;
                }));
            }
            switch (mix) {
                case "shared": {
                    Consumer shared = consumers.open("shared");
                    for (int t = 0; t < 2; t++) {
                        threads.add(thread("shared-" + t, calls, (r, i) -> {
                            // Two calls in three append or move to the tail under the consumer's lock
                            // (issue 10: they met a producer waiting for a mapping the consumer held).
                            switch (r.nextInt(6)) {
                                case 0:
                                case 1:
                                    shared.requeue(m -> Messages.requeued(m));
                                    break;
                                case 2:
                                    shared.seekToEnd();
                                    break;
                                case 3:
                                    CallMix.seekSomewhere(q, shared, r);
                                    break;
                                default:
                                    CallMix.namedCall(q, consumers, shared, r, false, true, false, maxSize);
                                    break;
                            }
                            return true;
                        }));
                    }
                    CallMix.Order order = new CallMix.Order("the queue's own consumer");
                    threads.add(thread("own-reader", calls, (r, i) -> {
                        CallMix.ownRead(q, r, order, false, maxSize);
                        return true;
                    }));
                    break;
                }
                case "dropOldest": {
                    Consumer lagging = consumers.open("lagging");
                    consumers.open("never-read");
                    threads.add(thread("lagging", calls / 4, (r, i) -> {
                        CallMix.namedCall(q, consumers, lagging, r, false, true, false, maxSize);
                        return true;
                    }));
                    CallMix.Order order = new CallMix.Order("the queue's own consumer");
                    threads.add(thread("own-reader", calls / 4, (r, i) -> {
                        CallMix.ownRead(q, r, order, false, maxSize);
                        return true;
                    }));
                    threads.add(thread("admin", calls / 4, (r, i) -> {
                        CallMix.adminCall(q, r);
                        return true;
                    }));
                    break;
                }
                default: {
                    Consumer freer = consumers.open("freer");
                    long expected = (long) PRODUCERS * calls;
                    for (int t = 0; t < 2; t++) {
                        threads.add(thread("freer-" + t, Integer.MAX_VALUE, (r, i) -> {
                            if (received.get() >= expected || !failures.isEmpty()) {
                                return null; // done, or a producer failed
                            }
                            List<byte[]> batch = new ArrayList<>();
                            if (r.nextBoolean()) {
                                batch.add(freer.dequeue(Duration.ofMillis(1)));
                            } else {
                                freer.drainTo(batch, 1 + r.nextInt(16), Duration.ofMillis(1));
                            }
                            batch.removeIf(m -> m == null);
                            for (byte[] m : batch) {
                                record(Messages.check(m, maxSize));
                            }
                            // Only a message received is progress here: polling an empty queue is not.
                            return !batch.isEmpty();
                        }));
                    }
                    break;
                }
            }
            threads.forEach(Thread::start);
            for (Thread t : threads) {
                t.join();
            }
            dog.doing("closing after run");
            if ("block".equals(mix)) {
                checkEveryMessageOnce();
            }
            summary = "tail " + q.tailOffset() + ", earliest " + q.earliestOffset();
            q.close();
            return new ArrayList<>(failures);
        }

        private synchronized void record(Messages.Id id) {
            if (id.producer >= PRODUCERS || id.seq >= calls || seen[id.producer].get((int) id.seq)) {
                failures.add("received " + id + " twice, or never sent");
            }
            seen[id.producer].set((int) id.seq);
            received.incrementAndGet();
        }

        private void checkEveryMessageOnce() {
            for (int p = 0; p < PRODUCERS; p++) {
                int missing = seen[p].nextClearBit(0);
                if (missing < calls) {
                    failures.add("P" + p + ":" + missing + " never arrived at the consumer");
                }
            }
        }

        private interface Call {
            /** One call; true if it made progress, false if not, null when the thread is done. */
            Boolean run(Random r, long i) throws Exception;
        }

        /** A thread making up to {@code max} calls; any exception is a failure. */
        private Thread thread(String name, int max, Call call) {
            Random r = new Random(random.nextLong());
            Thread t = new Thread(() -> {
                try {
                    for (long i = 0; i < max; i++) {
                        Boolean progress = call.run(r, i);
                        if (progress == null) {
                            return;
                        }
                        if (progress) {
                            dog.tick();
                        }
                    }
                } catch (Throwable e) {
                    failures.add(name + " threw " + CloseRaceChild.stack(e));
                }
            }, "progress-" + name);
            t.setDaemon(true);
            return t;
        }
    }
}
