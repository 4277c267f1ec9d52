package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.Fixtures.offsetOf;
import static dev.bigqueue.consumer.Fixtures.payload;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;

/**
 * The child JVM of {@link ConsumerLifecycleCrashTest}: threads open, read, copy and delete named
 * consumers over and over while a producer appends and the collector runs every few milliseconds,
 * until the parent kills it with SIGKILL. Each thread has names of its own ({@code tNx}), whose
 * history it can check exactly, and all share {@code s0} and {@code s1}, which they open and delete
 * under each other. A line is printed (one flushed write) before an operation starts, in lower
 * case ({@code o NAME}, {@code d NAME}, {@code c NAME}), and after it returned, in upper case
 * ({@code O NAME position}, {@code D NAME existed}, {@code C NAME position}); {@code FAIL ...} when
 * a check inside the child fails: a consumer opened after its delete returned that does not start
 * at the earliest message (an old file come back), or messages out of order.
 */
public final class LifecycleChild {
    static final int THREADS = 3;
    static final String[] OWN = {"a", "b", "c"};
    static final String[] SHARED = {"s0", "s1"};

    private LifecycleChild() {
    }

    static QueueConfig config() {
        return QueueConfig.builder().arenaSize(Fixtures.ARENA_SIZE).gcInterval(Duration.ofMillis(5))
                .flushInterval(Duration.ofMillis(50)).ownConsumer(false).build();
    }

    public static void main(String[] args) throws Exception {
        BigQueue q = BigQueue.open(Path.of(args[0]), config());
        Consumers consumers = Consumers.of(q);
        Random seeds = new Random(Long.parseLong(args[1]));
        Thread producer = new Thread(() -> {
            while (true) {
                if (q.tailOffset() - q.earliestOffset() < 2000) {
                    q.enqueueString(payload(q.tailOffset()));
                } else {
                    Thread.onSpinWait();
                    Thread.yield();
                }
            }
        }, "producer");
        producer.setDaemon(true);
        producer.start();
        print("READY");
        for (int t = 0; t < THREADS; t++) {
            int id = t;
            long seed = seeds.nextLong();
            Thread w = new Thread(() -> work(q, consumers, id, new Random(seed)), "worker-" + t);
            w.start();
        }
    }

    private static void work(BigQueue q, Consumers consumers, int id, Random r) {
        boolean[] deleted = new boolean[OWN.length];
        try {
            while (true) {
                boolean shared = r.nextInt(4) == 0;
                int k = r.nextInt(shared ? SHARED.length : OWN.length);
                String name = shared ? SHARED[k] : "t" + id + OWN[k];
                int op = r.nextInt(10);
                try {
                    if (op < 6) {
                        print("o " + name);
                        Consumer c = consumers.open(name);
                        long at = c.position();
                        print("O " + name + " " + at);
                        if (!shared && deleted[k]) {
                            long earliest = q.earliestOffset();
                            if (at != earliest) {
                                print("FAIL " + name + " opened after its delete at " + at + ", earliest is "
                                        + earliest + ": the old consumer came back");
                            }
                            deleted[k] = false;
                        }
                        for (int n = r.nextInt(60); n > 0; n--) {
                            byte[] m = c.dequeue();
                            if (m == null) {
                                break;
                            }
                            long o = offsetOf(m);
                            if (!shared && o != at) {
                                print("FAIL " + name + " handed offset " + o + ", expected " + at);
                            }
                            at = o + 1;
                        }
                        if (r.nextInt(3) == 0) {
                            c.close();
                        }
                    } else if (op < 9) {
                        print("d " + name);
                        boolean existed = consumers.delete(name);
                        print("D " + name + " " + existed);
                        if (!shared) {
                            deleted[k] = true;
                        }
                    } else if (!shared) {
                        String target = "t" + id + OWN[(k + 1) % OWN.length];
                        print("o " + name);
                        Consumer source = consumers.open(name);
                        print("O " + name + " " + source.position());
                        deleted[k] = false;
                        print("d " + target);
                        consumers.delete(target);
                        print("D " + target + " true");
                        print("c " + target);
                        long at = consumers.copy(target, source).position();
                        print("C " + target + " " + at);
                        deleted[(k + 1) % OWN.length] = false;
                    }
                } catch (IllegalStateException sharedAndDeleted) {
                    if (!shared) {
                        throw sharedAndDeleted;
                    }
                }
            }
        } catch (RuntimeException | Error e) {
            print("FAIL worker " + id + ": " + e);
            e.printStackTrace();
        }
    }

    private static synchronized void print(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
