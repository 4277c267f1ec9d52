package dev.bigqueue.consumer;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueClosedException;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.QueueFullException;
import dev.bigqueue.WhenFull;
import dev.bigqueue.consumer.Watchdog.Out;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.LongAdder;

/**
 * The child JVM of {@link CloseRaceTest}: rounds of "open a queue, call it from many threads,
 * close it from another thread at a random moment, check what close left behind, reopen, check
 * that nothing acknowledged was lost". Arguments: {@code MODE DIR ROUNDS SEED}.
 *
 * <ul>
 *   <li>{@code every}: a random configuration per round, threads making every public call of
 *       the queue, its own consumer and named consumers ({@link CallMix}).</li>
 *   <li>{@code producers}: issue 10's finding 1 exactly: flushEveryOps(1), 4 producers, close
 *       from another thread.</li>
 *   <li>{@code flush}: 2 producers and 2 threads calling {@code flush()}, close from another
 *       thread.</li>
 * </ul>
 *
 * <p>Prints {@code ROUND n ok ...} per round and {@code DONE} at the end (exit 0); on the first
 * failed round {@code ROUND n FAIL ...} with every problem, then exit 1; if nothing progresses
 * for {@code bigqueue.closeRace.stallSeconds} (default 60), {@code STALL} and a thread dump, exit 2.
 */
public final class CloseRaceChild {
    static final int ARENA = 64 * 1024;
    private static final int MAX_FAILURES = 20;
    private static final int MAX_CALLS_AFTER_CLOSE = 1000;
    /** No call completed for this long: every thread is stuck, so close now (SPEC 10: close frees them). */
    private static final long QUIET_NS = 2_000_000_000L;

    private CloseRaceChild() {
    }

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        Path base = Path.of(args[1]);
        int rounds = Integer.parseInt(args[2]);
        long seed = Long.parseLong(args[3]);
        Watchdog dog = Watchdog.start(Duration.ofSeconds(Integer.getInteger("bigqueue.closeRace.stallSeconds", 60)));
        for (int r = 0; r < rounds; r++) {
            long roundSeed = seed * 1_000_003L + r;
            Random random = new Random(roundSeed);
            Plan plan = Plan.of(mode, random);
            Round round = new Round(base.resolve("round-" + r), plan, random, dog, "round " + r + " (" + plan + ")");
            List<String> failures = round.run();
            if (!failures.isEmpty()) {
                Out.line("ROUND " + r + " FAIL (round seed " + roundSeed + ", " + plan + "):");
                for (String f : failures) {
                    Out.block("  - " + f.replace("\n", "\n    "));
                }
                Runtime.getRuntime().halt(1);
            }
            Out.line("ROUND " + r + " ok " + round.summary());
            Children.deleteTree(base.resolve("round-" + r));
        }
        Out.line("DONE");
        Runtime.getRuntime().halt(0); // threads stuck in a broken queue must not keep the JVM alive
    }

    /** What one round runs: the configuration, how many threads of each role, when to close. */
    static final class Plan {
        QueueConfig config;
        int producers;
        int ownReaders;
        int consumerThreads;
        int admins;
        int flushers;
        long closeAfterOps;
        boolean twoClosers;

        static Plan of(String mode, Random r) {
            Plan p = new Plan();
            QueueConfig.Builder b = QueueConfig.builder().arenaSize(ARENA);
            p.closeAfterOps = r.nextInt(8) == 0 ? 0 : 1 + r.nextInt(3000);
            switch (mode) {
                case "every":
                    b.maxInMemoryArenas(new int[] {1, 2, 3, 0}[r.nextInt(4)])
                            .flushEveryOps(new int[] {0, 1, 7}[r.nextInt(3)])
                            .flushInterval(r.nextBoolean() ? Duration.ZERO : Duration.ofMillis(10))
                            .gcInterval(r.nextBoolean() ? Duration.ZERO : Duration.ofMillis(5))
                            .syncOnWrite(r.nextInt(4) == 0)
                            .pretouch(r.nextBoolean());
                    if (r.nextBoolean()) {
                        b.maxDiskBytes(ARENA * (3L + r.nextInt(6))).whenFull(WhenFull.values()[r.nextInt(3)]);
                    }
                    p.producers = 1 + r.nextInt(3);
                    p.ownReaders = r.nextInt(3);
                    p.consumerThreads = r.nextInt(4);
                    p.admins = 1;
                    p.twoClosers = r.nextInt(4) == 0;
                    break;
                case "producers":
                    b.flushEveryOps(1);
                    p.producers = 4;
                    p.closeAfterOps = 1 + r.nextInt(2000);
                    break;
                case "flush":
                    p.producers = 2;
                    p.flushers = 2;
                    p.closeAfterOps = 1 + r.nextInt(2000);
                    break;
                default:
                    throw new IllegalArgumentException("unknown mode " + mode + "; use every, producers or flush");
            }
            p.config = b.build();
            return p;
        }

        @Override
        public String toString() {
            return config + ", producers " + producers + ", own readers " + ownReaders + ", consumer threads "
                    + consumerThreads + ", admins " + admins + ", flushers " + flushers + ", close after "
                    + closeAfterOps + " calls" + (twoClosers ? " by two threads" : "");
        }
    }

    /** One round: open, call from every thread, close from another, check, reopen, verify. */
    static final class Round {
        private final Path dir;
        private final Plan plan;
        private final Random random;
        private final Watchdog dog;
        private final String label;
        private final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        private final LongAdder calls = new LongAdder();
        private final List<List<long[]>> acked = new ArrayList<>();
        private volatile boolean closeStarted;
        private volatile boolean closeReturned;
        private final java.util.concurrent.CountDownLatch closeDone = new java.util.concurrent.CountDownLatch(1);
        private final java.util.concurrent.atomic.AtomicInteger closersInside =
                new java.util.concurrent.atomic.AtomicInteger();
        private BigQueue q;
        private Consumers consumers;
        private String summary = "";

        Round(Path dir, Plan plan, Random random, Watchdog dog, String label) {
            this.dir = dir;
            this.plan = plan;
            this.random = random;
            this.dog = dog;
            this.label = label;
        }

        String summary() {
            return summary;
        }

        List<String> run() throws InterruptedException {
            dog.doing(label + ": open");
            q = BigQueue.open(dir, plan.config);
            consumers = Consumers.of(q);
            List<Thread> workers = new ArrayList<>();
            for (int p = 0; p < plan.producers; p++) {
                List<long[]> mine = new ArrayList<>();
                acked.add(mine);
                int producer = p;
                long[] seq = {0};
                workers.add(worker("producer-" + p, r -> {
                    long s = seq[0]++;
                    long offset = CallMix.produce(q, r, producer, s, CallMix.MAX_MESSAGE);
                    mine.add(new long[] {offset, s});
                }, r -> q.enqueue(new byte[1])));
            }
            for (int i = 0; i < plan.ownReaders; i++) {
                CallMix.Order order = new CallMix.Order("own reader " + i);
                workers.add(worker("own-reader-" + i, r -> CallMix.ownRead(q, r, order, true, CallMix.MAX_MESSAGE),
                        r -> q.dequeue()));
            }
            for (int i = 0; i < plan.consumerThreads; i++) {
                workers.add(worker("consumer-" + i, r -> CallMix.namedCall(q, consumers, CallMix.pick(consumers, r), r,
                        true, true, true, CallMix.MAX_MESSAGE), r -> consumers.open(CallMix.AUTO_NAMES[0])));
            }
            for (int i = 0; i < plan.admins; i++) {
                workers.add(worker("admin-" + i, r -> CallMix.adminCall(q, r), r -> q.flush()));
            }
            for (int i = 0; i < plan.flushers; i++) {
                workers.add(worker("flusher-" + i, r -> q.flush(), r -> q.flush()));
            }
            List<Thread> closers = new ArrayList<>();
            for (int i = 0; i < (plan.twoClosers ? 2 : 1); i++) {
                closers.add(daemon("closer-" + i, this::closeAndCheck));
            }
            dog.doing(label + ": calls from " + workers.size() + " threads");
            workers.forEach(Thread::start);
            closers.forEach(Thread::start);
            for (Thread t : closers) {
                t.join();
            }
            dog.doing(label + ": open again once close() returned");
            BigQueue reopened = null;
            try {
                reopened = BigQueue.open(dir, verifyConfig());
            } catch (RuntimeException e) {
                failures.add("reopen right after close() returned failed (is the lock released?): " + stack(e));
            }
            dog.doing(label + ": waiting for the calling threads to end after close");
            for (Thread t : workers) {
                t.join();
            }
            if (reopened != null) {
                dog.doing(label + ": verify");
                try {
                    verify(reopened);
                } catch (RuntimeException | AssertionError e) {
                    failures.add("verification failed: " + stack(e));
                } finally {
                    reopened.close();
                }
            }
            List<String> all = new ArrayList<>(failures);
            return all.size() > MAX_FAILURES ? all.subList(0, MAX_FAILURES) : all;
        }

        private static QueueConfig verifyConfig() {
            return QueueConfig.builder().arenaSize(ARENA).flushInterval(Duration.ZERO).gcInterval(Duration.ZERO)
                    .pretouch(false).build();
        }

        /** Waits for the round's moment, closes, and checks what close() left behind when it returned. */
        private void closeAndCheck() {
            try {
                // The round's moment; or now, if every call is stuck (then close() must free them).
                long seen = -1;
                long quietSince = System.nanoTime();
                for (long now = calls.sum(); now < plan.closeAfterOps; now = calls.sum()) {
                    if (now != seen) {
                        seen = now;
                        quietSince = System.nanoTime();
                    } else if (System.nanoTime() - quietSince > QUIET_NS) {
                        break;
                    }
                    Thread.sleep(1);
                }
            } catch (InterruptedException e) {
                failures.add("closer interrupted");
                return;
            }
            closeStarted = true;
            closersInside.incrementAndGet();
            try {
                q.close();
            } catch (Throwable e) {
                failures.add(Thread.currentThread().getName() + ": close() threw " + stack(e));
            }
            int others = closersInside.decrementAndGet();
            String who = Thread.currentThread().getName() + (others > 0 ? " (another thread's close() call had not"
                    + " returned yet)" : "");
            closeReturned = true;
            closeDone.countDown();
            dog.tick();
            List<Thread> alive = Lifetime.queueThreads();
            if (!alive.isEmpty()) {
                failures.add(who + ": close() returned, but these threads the queue started are alive:"
                        + Lifetime.describe(alive));
            }
            try {
                List<String> maps = Lifetime.mappingsUnder(dir);
                if (!maps.isEmpty()) {
                    failures.add(who + ": close() returned, but files of the queue are still mapped:\n  "
                            + String.join("\n  ", maps));
                }
            } catch (java.io.IOException e) {
                failures.add("cannot read /proc/self/maps: " + e);
            }
        }

        private interface Call {
            void run(Random r) throws Exception;
        }

        /**
         * A thread making {@code call} until the queue closes under it, then, once close() has
         * returned, making {@code probe}, which must throw IllegalStateException.
         */
        private Thread worker(String name, Call call, Call probe) {
            Random r = new Random(random.nextLong());
            return daemon(name, () -> {
                int callsAfterClose = 0;
                for (;;) {
                    boolean afterClose = closeReturned;
                    if (afterClose && ++callsAfterClose > MAX_CALLS_AFTER_CLOSE) {
                        failures.add(name + ": " + MAX_CALLS_AFTER_CLOSE + " calls made after close() returned, none"
                                + " threw an IllegalStateException saying the queue is closed");
                        return;
                    }
                    try {
                        call.run(r);
                        calls.increment();
                        dog.tick();
                    } catch (Throwable e) {
                        if (!allowed(name, e, afterClose)) {
                            return;
                        }
                        if (closeStarted && isClosedError(e)) {
                            break;
                        }
                    }
                }
                try {
                    closeDone.await();
                    probe.run(r);
                    failures.add(name + ": a call made after close() returned, returned normally");
                } catch (IllegalStateException expected) {
                    // closed, as it should say
                } catch (Throwable e) {
                    failures.add(name + ": a call made after close() returned threw " + stack(e));
                }
            });
        }

        private static boolean isClosedError(Throwable e) {
            return e instanceof QueueClosedException
                    || (e instanceof IllegalStateException && String.valueOf(e.getMessage()).contains("closed"));
        }

        /**
         * Whether {@code e} is a result the SPEC allows for a call that started before close()
         * returned ({@code !afterClose}) or after; records it as a failure if not.
         */
        private boolean allowed(String name, Throwable e, boolean afterClose) {
            String msg = String.valueOf(e.getMessage());
            if (e instanceof QueueClosedException) {
                if (closeStarted) {
                    return true;
                }
                failures.add(name + ": QueueClosedException before close() was called: " + stack(e));
                return false;
            }
            if (e instanceof QueueFullException && !afterClose) {
                return true; // WhenFull.FAIL, for a call in flight when close() began too
            }
            if (e instanceof IllegalStateException && (msg.contains("Consumer.close()") || msg.contains("deleted"))) {
                return true; // another thread closed or deleted the named consumer this one shares
            }
            if (closeStarted && isClosedError(e)) {
                return true;
            }
            if (closeStarted && e instanceof IllegalStateException) {
                failures.add(name + ": " + (afterClose ? "a call started after close() returned" : "a call in flight"
                        + " while close() ran") + " threw an IllegalStateException that does not say the queue is"
                        + " closed: " + stack(e));
                return false;
            }
            failures.add(name + (closeStarted ? ": while the queue was closing: " : ": before close(): ") + stack(e));
            return false;
        }

        /** Everything acknowledged is there, whole and in order; consumers resume inside the queue. */
        private void verify(BigQueue v) {
            long tail = v.tailOffset();
            long earliest = v.earliestOffset();
            Consumer reader = Consumers.of(v).open("zz-verify");
            reader.seek(earliest);
            List<Messages.Id> found = new ArrayList<>();
            for (long o = earliest; o < tail; o++) {
                byte[] m = reader.dequeue();
                if (m == null) {
                    failures.add("offset " + o + " is unreadable (dequeue returned null) though the tail is " + tail);
                    return;
                }
                try {
                    found.add(Messages.check(m, CallMix.MAX_MESSAGE));
                } catch (AssertionError e) {
                    failures.add("offset " + o + " after reopen: " + e.getMessage());
                    return;
                }
            }
            long[] lastSeq = new long[plan.producers];
            java.util.Arrays.fill(lastSeq, -1);
            for (int i = 0; i < found.size(); i++) {
                Messages.Id id = found.get(i);
                if (id.requeues == 0 && id.producer < lastSeq.length) {
                    if (id.seq <= lastSeq[id.producer]) {
                        failures.add("offset " + (earliest + i) + " holds " + id + " after P" + id.producer + ":"
                                + lastSeq[id.producer] + ": out of order or twice");
                    }
                    lastSeq[id.producer] = id.seq;
                }
            }
            long ackedCount = 0;
            for (int p = 0; p < acked.size(); p++) {
                for (long[] a : acked.get(p)) {
                    ackedCount++;
                    long offset = a[0];
                    if (offset >= tail) {
                        failures.add("LOST: enqueue of P" + p + ":" + a[1] + " returned offset " + offset
                                + ", but the reopened queue ends at " + tail);
                    } else if (offset >= earliest) {
                        Messages.Id id = found.get((int) (offset - earliest));
                        if (id.producer != p || id.seq != a[1] || id.requeues != 0) {
                            failures.add("offset " + offset + " was acknowledged for P" + p + ":" + a[1] + " but holds "
                                    + id);
                        }
                    }
                }
            }
            if (plan.config.whenFull() != WhenFull.DROP_OLDEST || plan.config.maxDiskBytes() == 0) {
                if (v.headOffset() < earliest) {
                    failures.add("the queue's own consumer resumes at " + v.headOffset() + ", before earliestOffset "
                            + earliest + ": messages it had not read were deleted");
                }
                for (String name : Consumers.of(v).names()) {
                    long at = Consumers.of(v).open(name).position();
                    if (at < earliest || at > tail) {
                        failures.add("consumer '" + name + "' resumes at " + at + ", outside [" + earliest + ", "
                                + tail + "]");
                    }
                }
            }
            summary = "calls " + calls.sum() + ", acknowledged " + ackedCount + ", reopened with offsets " + earliest
                    + ".." + tail;
        }

        private static Thread daemon(String name, Runnable body) {
            Thread t = new Thread(body, "race-" + name);
            t.setDaemon(true);
            return t;
        }
    }

    static String stack(Throwable e) {
        StringWriter w = new StringWriter();
        e.printStackTrace(new PrintWriter(w));
        return w.toString();
    }
}
