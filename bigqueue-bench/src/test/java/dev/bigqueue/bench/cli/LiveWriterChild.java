package dev.bigqueue.bench.cli;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A queue's writer in a child JVM for {@link LiveQueueCliTest}: appends {@code m0..m(N-1)}, prints
 * READY and keeps the queue open; once the file GO appears, appends {@code mN..m(2N-1)}, prints
 * MORE, and waits to be killed.
 */
public final class LiveWriterChild {
    private LiveWriterChild() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        Path go = Path.of(args[2]);
        try (BigQueue q = BigQueue.open(dir, QueueConfig.builder().arenaSize(64 * 1024).ownConsumer(false).build())) {
            for (int i = 0; i < n; i++) {
                q.enqueueString("m" + i);
            }
            System.out.println("READY");
            System.out.flush();
            while (!Files.exists(go)) {
                Thread.sleep(5); // a child's pace, not a test's pass condition
            }
            for (int i = n; i < 2 * n; i++) {
                q.enqueueString("m" + i);
            }
            System.out.println("MORE");
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE);
        }
    }
}
