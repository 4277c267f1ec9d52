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
 * the CPU alone while the writer is slow or idle, and all of them run in the batch scheduling class.
 * This matters on small machines, where every wake-up of a normal background thread preempts an
 * application thread (the cause of millisecond latency tails on 2 cores); a batch thread does not,
 * and unlike an idle-class one it is never starved while it holds something others wait for.
 */
class BackgroundThreadsTest {
    private static final int ARENA = 64 * 1024;
    private static final String THREAD_COMM = "bigqueue-pretou"; // the kernel keeps 15 characters
    private static final String MAINT_COMM = "bigqueue-maint-";
    private static final String GC_COMM = "bigqueue-gc-";

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

    /** The flush and collection threads and the pretoucher run in the batch scheduling class, at nice 0. */
    @Test
    void backgroundThreadsRunInTheBatchSchedulingClass() throws Exception {
        assumeTrue(NativeIO.nativeAvailable(), "scheduling classes are set through libc");
        assumeTrue(new File("/proc/self/task").isDirectory(), "needs /proc to read thread scheduling classes");
        try (BigQueue q = BigQueue.open(dir, QueueConfig.builder().arenaSize(ARENA)
                .flushInterval(Duration.ofMillis(10)).build())) {
            q.enqueue(new byte[100]);
            java.util.Set<String> seen = new java.util.HashSet<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos(); // a hang detector only
            // Each thread sets its class as it starts: wait until all three have, then check them.
            while (seen.size() < 3 && System.nanoTime() < deadline) {
                for (File task : new File("/proc/self/task").listFiles()) {
                    String comm;
                    String stat;
                    try {
                        comm = Files.readString(task.toPath().resolve("comm")).trim();
                        stat = Files.readString(task.toPath().resolve("stat"));
                    } catch (IOException threadEnded) {
                        continue;
                    }
                    if (!comm.equals(THREAD_COMM) && !comm.equals(MAINT_COMM) && !comm.startsWith(GC_COMM)) {
                        continue;
                    }
                    // Fields after the parenthesised name: state is field 3, nice 19, policy 41.
                    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    if (fields[38].equals("0")) {
                        continue; // not set yet
                    }
                    assertEquals("3", fields[38], comm + " runs in scheduling class " + fields[38]
                            + ", not SCHED_BATCH");
                    assertEquals("0", fields[16], comm + " runs at nice " + fields[16]);
                    seen.add(comm);
                }
                Thread.sleep(5);
            }
            assertEquals(3, seen.size(), "background threads seen in the batch class: " + seen);
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
