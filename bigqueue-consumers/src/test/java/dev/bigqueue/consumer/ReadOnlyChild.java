package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.Fixtures.offsetOf;
import static dev.bigqueue.consumer.Fixtures.payload;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The child JVMs of {@link ReadOnlyProcessesTest}; each logs with one unbuffered write per line,
 * after the operation it reports returned (a line a kill cuts short has no newline).
 *
 * <ul>
 *   <li>{@code writer DIR LOG LIMIT}: the queue's one writer (no own consumer, background GC and
 *       flush) appends {@link Fixtures#payload} messages up to offset LIMIT, logging {@code P o}
 *       for each enqueue that returned, then prints DONE and waits to be killed.</li>
 *   <li>{@code reader DIR LOG NAME}: a read-only open with the named consumer NAME (AUTO), which
 *       takes messages for ever, logging {@code S o} (started at o), {@code H o} (handed o) or
 *       {@code X why} (a damaged or foreign message).</li>
 *   <li>{@code hold DIR NAME}: a read-only open that opens consumer NAME, prints READY and waits.</li>
 * </ul>
 */
public final class ReadOnlyChild {
    private ReadOnlyChild() {
    }

    static QueueConfig writerConfig() {
        return QueueConfig.builder().arenaSize(Fixtures.ARENA_SIZE).ownConsumer(false)
                .gcInterval(Duration.ofMillis(20)).flushInterval(Duration.ofMillis(50)).build();
    }

    static QueueConfig readerConfig() {
        return QueueConfig.builder().readOnly(true).build();
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[1]);
        switch (args[0]) {
            case "writer":
                writer(dir, new CrashChild.Log(Path.of(args[2])), Long.parseLong(args[3]));
                break;
            case "reader":
                reader(dir, new CrashChild.Log(Path.of(args[2])), args[3]);
                break;
            case "hold":
                try (BigQueue q = BigQueue.open(dir, readerConfig())) {
                    Consumers.of(q).open(args[2]);
                    System.out.println("READY");
                    System.out.flush();
                    Thread.sleep(Long.MAX_VALUE);
                }
                break;
            default:
                throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }

    private static void writer(Path dir, CrashChild.Log log, long limit) throws Exception {
        BigQueue q = BigQueue.open(dir, writerConfig());
        System.out.println("READY");
        System.out.flush();
        for (long offset = q.tailOffset(); offset < limit; offset++) {
            long got = q.enqueueString(payload(offset));
            log.line(got == offset ? "P " + got : "X enqueue returned " + got + ", expected " + offset);
        }
        System.out.println("DONE");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }

    private static void reader(Path dir, CrashChild.Log log, String name) throws Exception {
        BigQueue q = BigQueue.open(dir, readerConfig());
        Consumer c = Consumers.of(q).open(name);
        log.line("S " + c.position());
        System.out.println("READY");
        System.out.flush();
        for (;;) {
            byte[] m;
            try {
                m = c.take();
            } catch (RuntimeException e) {
                log.line("X " + e); // a damaged record, or anything else: the parent fails at once
                System.exit(1);
                return;
            }
            long offset;
            try {
                offset = offsetOf(m);
            } catch (AssertionError e) {
                log.line("X " + e.getMessage());
                continue;
            }
            log.line("H " + offset);
        }
    }
}
