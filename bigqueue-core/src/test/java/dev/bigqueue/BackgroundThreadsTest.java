package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.bigqueue.internal.FileFormat;
import dev.bigqueue.internal.NativeIO;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The queue's background threads (pretouch, periodic flush and collection) stay out of the
 * application's way: the pretoucher makes the next arena before the writer needs it but leaves
 * the CPU alone while the writer is slow or idle, and all of them run in the idle scheduling class.
 * This matters on small machines, where every wake-up of a background thread preempts an
 * application thread (the cause of millisecond latency tails on 2 cores).
 */
class BackgroundThreadsTest {
    private static final int ARENA = 64 * 1024;
    private static final String THREAD_COMM = "bigqueue-pretou"; // the kernel keeps 15 characters
    private static final String FLUSH_COMM = "bigqueue-flush-";
    private static final String TIMER_COMM = "bigqueue-timer-";

    @TempDir
    Path dir;

    @Test
    void aSlowWriterFindsItsNextArenaMadeAhead() throws Exception {
        assumeTrue(NativeIO.nativeAvailable(), "pretouch needs libc through jnr-ffi");
        try (BigQueue q = BigQueue.open(dir, QueueConfig.builder().arenaSize(ARENA).build())) {
            byte[] m = new byte[1000];
            // Past the middle of arena 0, slowly, then wait: arena 1 must appear without another write.
            for (int i = 0; i < 40; i++) {
                q.enqueue(m);
                Thread.sleep(2);
            }
            Path next = FileFormat.arenaFile(dir, 1);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos(); // a hang detector only
            while (!Files.exists(next) && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(Files.exists(next), "the arena after the writer's was not made ahead of it");
            for (int i = 0; i < 40; i++) {
                assertArrayEquals(m, q.dequeue());
            }
        }
    }

    @Test
    void anIdleQueueDoesNotWakeThePretoucher() throws Exception {
        assumeTrue(NativeIO.nativeAvailable(), "pretouch needs libc through jnr-ffi");
        assumeTrue(new File("/proc/self/task").isDirectory(), "needs /proc to count context switches");
        try (BigQueue q = BigQueue.open(dir, QueueConfig.builder().arenaSize(ARENA).build())) {
            q.enqueue(new byte[100]);
            Thread.sleep(200); // let it make the first arenas and settle
            long before = pretoucherWakeUps();
            Thread.sleep(1000); // the window measured: an idle second, as long as the pretoucher's longest sleep
            long wakeUps = pretoucherWakeUps() - before;
            // A timer-driven design wakes about 100 times a second; this one at most once.
            assertTrue(wakeUps <= 5, "the pretouch threads woke " + wakeUps + " times in 1 s with no writes");
        }
    }

    /**
     * The flusher and the pretoucher run in the idle scheduling class; the timer thread, which must
     * get a core when the machine is busy (to run an overdue flush), in the normal class.
     */
    @Test
    void backgroundThreadsRunInTheIdleSchedulingClass_theTimerInTheNormalOne() throws Exception {
        assumeTrue(NativeIO.nativeAvailable(), "priorities are set through libc");
        assumeTrue(new File("/proc/self/task").isDirectory(), "needs /proc to read thread priorities");
        try (BigQueue q = BigQueue.open(dir, QueueConfig.builder().arenaSize(ARENA)
                .flushInterval(Duration.ofMillis(10)).build())) {
            q.enqueue(new byte[100]);
            Thread.sleep(100); // both threads have started and run once
            int seen = 0;
            for (File task : new File("/proc/self/task").listFiles()) {
                String comm;
                String stat;
                try {
                    comm = Files.readString(task.toPath().resolve("comm")).trim();
                    stat = Files.readString(task.toPath().resolve("stat"));
                } catch (IOException threadEnded) {
                    continue;
                }
                // Fields after the parenthesised name: state is field 3, nice is field 19.
                String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                if (comm.equals(TIMER_COMM)) {
                    assertEquals("0", fields[38], "the timer thread runs in scheduling class " + fields[38]);
                    seen++;
                    continue;
                }
                if (!comm.equals(THREAD_COMM) && !comm.equals(FLUSH_COMM)) {
                    continue;
                }
                assertEquals("19", fields[16], comm + " runs at nice " + fields[16]);
                assertEquals("5", fields[38], comm + " runs in scheduling class " + fields[38] + ", not SCHED_IDLE");
                seen++;
            }
            assertTrue(seen >= 3, "found " + seen + " background threads");
        }
    }

    /** Voluntary context switches, summed over every pretouch thread of this JVM. */
    private static long pretoucherWakeUps() throws IOException {
        long sum = 0;
        File[] tasks = new File("/proc/self/task").listFiles();
        if (tasks == null) {
            return 0;
        }
        for (File task : tasks) {
            try {
                String comm = Files.readString(task.toPath().resolve("comm")).trim();
                if (!comm.equals(THREAD_COMM)) {
                    continue;
                }
                for (String line : Files.readAllLines(task.toPath().resolve("status"))) {
                    if (line.startsWith("voluntary_ctxt_switches:")) {
                        sum += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                    }
                }
            } catch (IOException threadEnded) {
                // the thread ended between the listing and the read
            }
        }
        return sum;
    }
}
