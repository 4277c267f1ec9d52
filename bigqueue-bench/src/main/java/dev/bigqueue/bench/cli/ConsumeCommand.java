package dev.bigqueue.bench.cli;

import dev.bigqueue.BigQueue;
import dev.bigqueue.consumer.CommitMode;
import dev.bigqueue.consumer.Consumer;
import dev.bigqueue.consumer.Consumers;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code bigqueue consume DIR --consumer NAME}: writes the messages a named consumer has not read
 * yet to standard output, one per line or length-prefixed, and commits its position after each
 * batch has been written and flushed, so a crash in between prints a batch again rather than losing
 * it (at-least-once). A new consumer starts at the earliest message on disk. {@code --follow} waits
 * for more until interrupted (Ctrl-C). A queue is open in one process at a time, so between reads
 * it leaves the queue closed (looking again every 200 ms), and a producer can open it meanwhile.
 */
@Command(name = "consume", mixinStandardHelpOptions = true,
        description = {"Print the messages a named consumer has not read yet, and commit its position.",
            "A new consumer starts at the earliest message on disk."})
final class ConsumeCommand implements Callable<Integer> {
    private static final int BATCH = 1024;
    /** How long --follow leaves the queue closed between reads. */
    private static final long FOLLOW_POLL_MS = 200;

    @Parameters(index = "0", paramLabel = "DIR", description = "The queue directory.")
    Path dir;

    @Option(names = {"-c", "--consumer"}, required = true, paramLabel = "NAME",
            description = "The consumer's name: letters, digits, '.', '_' and '-'.")
    String consumerName;

    @Option(names = {"-f", "--follow"}, description = "Keep waiting for new messages until interrupted; between"
            + " reads the queue is left closed, so that a producer (another process) can open it.")
    boolean follow;

    @Option(names = {"-n", "--max"}, paramLabel = "N", description = "Stop after N messages.")
    Long max;

    @Option(names = "--length-prefixed", description = "Write each message as a 4-byte big-endian length and its"
            + " bytes, instead of one line per message.")
    boolean lengthPrefixed;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Standard output; the tests replace it. */
    static OutputStream output = System.out;

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (max != null && max < 0) {
            throw new CliException(CliException.USAGE, "--max must be 0 or more, got " + max);
        }
        QueueDirectory queueDir = new QueueDirectory(dir).requireQueue();
        long limit = max == null ? Long.MAX_VALUE : max;
        CountDownLatch finished = new CountDownLatch(1);
        Thread main = Thread.currentThread();
        Thread hook = new Thread(() -> {
            // Ctrl-C: let the loop commit and close the queue, then let the JVM go.
            main.interrupt();
            try {
                finished.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "consume-shutdown");
        if (follow) {
            Runtime.getRuntime().addShutdownHook(hook);
        }
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(output, 1 << 16));
        long count = 0;
        try {
            for (;;) {
                // --follow holds the queue only while it reads, so that producers can open it in between.
                try (BigQueue queue = follow ? queueDir.openWhenFree(0, false, null) : queueDir.open(0, false)) {
                    count += drain(openConsumer(queue), out, limit - count);
                }
                if (!follow || count >= limit) {
                    break;
                }
                Thread.sleep(FOLLOW_POLL_MS);
            }
        } catch (InterruptedException e) {
            // Ctrl-C in --follow: everything printed was committed batch by batch.
        } finally {
            finished.countDown();
            if (follow && !Thread.currentThread().isInterrupted()) {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException e) {
                    // The JVM is already shutting down.
                }
            }
        }
        return 0;
    }

    private Consumer openConsumer(BigQueue queue) {
        try {
            return Consumers.of(queue).open(consumerName, CommitMode.MANUAL);
        } catch (IllegalArgumentException e) {
            throw new CliException(CliException.USAGE, "--consumer: " + e.getMessage());
        }
    }

    /**
     * Prints up to {@code max} messages, committing each batch once it has reached standard output;
     * a batch that could not be written is not committed, so the next run prints it again.
     *
     * @return how many were printed.
     */
    private long drain(Consumer consumer, DataOutputStream out, long max) throws IOException {
        List<byte[]> batch = new ArrayList<>(BATCH);
        long count = 0;
        while (count < max && consumer.drainTo(batch, (int) Math.min(BATCH, max - count)) > 0) {
            for (byte[] message : batch) {
                write(out, message);
            }
            count += batch.size();
            batch.clear();
            commit(out, consumer);
        }
        return count;
    }

    private void write(DataOutputStream out, byte[] message) throws IOException {
        if (lengthPrefixed) {
            out.writeInt(message.length);
            out.write(message);
        } else {
            out.write(message);
            out.write('\n');
        }
    }

    /** Commits only what has reached standard output. */
    private static void commit(DataOutputStream out, Consumer consumer) throws IOException {
        out.flush();
        consumer.commit();
    }
}
