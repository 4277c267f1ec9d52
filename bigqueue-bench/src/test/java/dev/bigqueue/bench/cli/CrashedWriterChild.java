package dev.bigqueue.bench.cli;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A queue's writer in a child JVM for {@link CrashedWriterInspectTest}: with no periodic flush,
 * appends {@code m0..m(N-1)}, flushes, appends {@code mN..m(2N-1)}, prints READY and waits to be
 * killed, so the durable point its queue.meta records is exactly N and the tail 2N.
 */
public final class CrashedWriterChild {
    private CrashedWriterChild() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        BigQueue q = BigQueue.open(dir, QueueConfig.builder().arenaSize(64 * 1024).flushInterval(Duration.ZERO)
                .build());
        for (int i = 0; i < 2 * n; i++) {
            if (i == n) {
                q.flush();
            }
            q.enqueueString("m" + i);
        }
        System.out.println("READY");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
