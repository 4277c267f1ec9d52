package dev.bigqueue.consumer;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The stall detector of a child JVM: every completed call ticks it; if no tick comes for the
 * stall time, it prints {@code STALL}, what the child was doing and a full thread dump (with lock
 * owners) to stdout, and halts the JVM with exit code 2. The stall time is only a hang detector,
 * far above anything a busy machine causes: a slow run never trips it, a stuck one always does.
 */
final class Watchdog {
    static final int STALL_EXIT = 2;

    private final AtomicLong ticks = new AtomicLong();
    private volatile String doing = "starting";

    private Watchdog() {
    }

    /** Starts the detector thread (a daemon); {@code stall} without a tick trips it. */
    static Watchdog start(Duration stall) {
        Watchdog dog = new Watchdog();
        Thread t = new Thread(() -> dog.watch(stall), "test-watchdog");
        t.setDaemon(true);
        t.start();
        return dog;
    }

    /** Progress was made. */
    void tick() {
        ticks.incrementAndGet();
    }

    /** What the child does now, for the STALL report; also a tick. */
    void doing(String what) {
        doing = what;
        tick();
    }

    long ticks() {
        return ticks.get();
    }

    private void watch(Duration stall) {
        long seen = ticks.get();
        long since = System.nanoTime();
        for (;;) {
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                return;
            }
            long now = ticks.get();
            if (now != seen) {
                seen = now;
                since = System.nanoTime();
            } else if (System.nanoTime() - since > stall.toNanos()) {
                Out.line("STALL: no call completed for " + stall + " while " + doing + "; thread dump:");
                Out.block(Lifetime.threadDump());
                Runtime.getRuntime().halt(STALL_EXIT);
            }
        }
    }

    /** Whole lines on stdout, flushed at once, never interleaved. */
    static final class Out {
        private Out() {
        }

        static synchronized void line(String s) {
            System.out.println(s);
            System.out.flush();
        }

        static synchronized void block(String s) {
            System.out.print(s.endsWith("\n") ? s : s + "\n");
            System.out.flush();
        }
    }
}
