package dev.bigqueue.bench.cli;

import dev.bigqueue.BigQueue;
import dev.bigqueue.Message;
import dev.bigqueue.bench.run.Units;
import dev.bigqueue.consumer.CommitMode;
import dev.bigqueue.consumer.Consumer;
import dev.bigqueue.consumer.Consumers;
import java.io.IOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
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
 * batch has been written, so a crash in between prints a batch again rather than losing it
 * (at-least-once). It commits only what reached standard output: when a write fails (a closed pipe,
 * as after {@code | head -2}; a full disk; any I/O error), the consumer is committed at the first
 * message not written in full, so the next run starts exactly there, and the command exits with
 * code 1 and says so on stderr. A new consumer starts at the earliest message on disk.
 * {@code --follow} waits for more until interrupted (Ctrl-C), with the queue open read-only
 * ({@code QueueConfig.readOnly}) beside its writer, which keeps producing meanwhile. Without it, a
 * queue that another process holds is read read-only too; a free one is opened as usual. The
 * consumer itself is open in one process at a time: a second consume of the same consumer fails
 * naming the first one's pid. {@code --print-timestamp}, {@code --print-key} and
 * {@code --print-headers} put those fields before each value, tab-separated (see
 * {@link MessageFields}); {@code --from TIME} first moves the consumer to the first message at or
 * after TIME, and commits it there.
 */
@Command(name = "consume", mixinStandardHelpOptions = true,
        description = {"Print the messages a named consumer has not read yet, and commit its position.",
            "A new consumer starts at the earliest message on disk. Only messages written to standard output in"
                + " full are committed: if a write fails (closed pipe, full disk), the next consume starts at the"
                + " first message not written, and this one exits with code 1.",
            "With --print-timestamp, --print-key, --print-headers each line is: the asked-for fields in that"
                + " order, each followed by a tab, then the value. Fields: the timestamp as an ISO-8601 instant in UTC"
                + " (2026-12-02T10:00:00.123Z); key=KEY, or - without a key; the headers as NAME=VALUE joined by ','"
                + " or - without headers. Example: 2026-12-02T10:00:00.123Z<TAB>key=K<TAB>h1=v1,h2=v2<TAB>value",
            "Values, keys and header values are printed as their bytes: one holding a newline prints as several"
                + " lines, and a tab in a key or header value looks like a field separator. --escape writes them as"
                + " \\n and \\t (and a backslash as \\\\); --length-prefixed writes values exactly."})
final class ConsumeCommand implements Callable<Integer> {
    private static final int BATCH = 1024;
    /** How long one wait of --follow lasts before it looks again (an interrupt ends it at once). */
    private static final Duration FOLLOW_WAIT = Duration.ofMillis(200);

    @Parameters(index = "0", paramLabel = "DIR", description = "The queue directory.")
    Path dir;

    @Option(names = {"-c", "--consumer"}, required = true, paramLabel = "NAME",
            description = "The consumer's name: letters, digits, '.', '_' and '-'.")
    String consumerName;

    @Option(names = {"-f", "--follow"}, description = "Keep waiting for new messages until interrupted; the queue"
            + " is read read-only beside its writer, which may produce meanwhile.")
    boolean follow;

    @Option(names = {"-n", "--max"}, paramLabel = "N", description = "Stop after N messages.")
    Long max;

    @Option(names = "--length-prefixed", description = "Write each message as a 4-byte big-endian length and its"
            + " bytes, instead of one line per message.")
    boolean lengthPrefixed;

    @Option(names = "--print-timestamp", description = "Print each message's timestamp (ISO-8601, UTC) and a tab"
            + " before it. Not with --length-prefixed.")
    boolean printTimestamp;

    @Option(names = "--print-key", description = "Print key=KEY (- if it has none) and a tab before each message."
            + " Not with --length-prefixed.")
    boolean printKey;

    @Option(names = "--print-headers", description = "Print the headers as NAME=VALUE joined by ',' (- if none) and"
            + " a tab before each message. Not with --length-prefixed.")
    boolean printHeaders;

    @Option(names = "--escape", description = "Write a backslash, tab, newline and carriage return in values, keys"
            + " and header values as \\\\, \\t, \\n and \\r, so that each message is one line. Without it a value"
            + " holding a newline prints as several lines: use --escape or --length-prefixed for such values."
            + " Not with --length-prefixed.")
    boolean escape;

    @Option(names = "--from", paramLabel = "TIME", description = "First MOVE the consumer (new or existing, back or"
            + " forward) to the first message whose timestamp is at or after TIME (by the largest timestamp so far),"
            + " or to the tail if there is none, and commit it there; then read from there. TIME: an ISO-8601"
            + " instant in UTC (2026-12-02T10:00:00Z) or epoch milliseconds.")
    String from;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Standard output when null; the tests replace it. */
    static WritableByteChannel output;

    @Override
    public Integer call() throws InterruptedException {
        if (max != null && max < 0) {
            throw new CliException(CliException.USAGE, "--max must be 0 or more, got " + max);
        }
        boolean fields = printTimestamp || printKey || printHeaders;
        if (fields && lengthPrefixed) {
            throw new CliException(CliException.USAGE, "--print-timestamp, --print-key and --print-headers print text"
                    + " lines and cannot be used with --length-prefixed, whose records are the values alone");
        }
        if (escape && lengthPrefixed) {
            throw new CliException(CliException.USAGE, "--escape writes text lines and cannot be used with"
                    + " --length-prefixed, whose records are the values' bytes as stored");
        }
        Instant fromTime = from == null ? null : MessageFields.parseTime("--from", from);
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
        MessageOutput out = new MessageOutput(output == null ? MessageOutput.standardOutput() : output,
                lengthPrefixed);
        long count = 0;
        try {
            if (follow) {
                // Read-only, held open: the writer (a produce, an application) keeps its queue, and
                // new messages are waited for in the queue (a parked back-off), not by reopening it.
                try (BigQueue queue = queueDir.openReadOnly()) {
                    Consumer consumer = openConsumer(queue, fromTime);
                    while (count < limit) {
                        count += drain(consumer, out, limit - count, FOLLOW_WAIT);
                    }
                }
            } else {
                try (BigQueue queue = queueDir.openForReading()) {
                    count += drain(openConsumer(queue, fromTime), out, limit, null);
                }
            }
        } catch (InterruptedException e) {
            // Ctrl-C in --follow: everything written was committed, and nothing else.
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

    private Consumer openConsumer(BigQueue queue, Instant fromTime) {
        Consumer consumer;
        try {
            consumer = Consumers.of(queue).open(consumerName, CommitMode.MANUAL);
        } catch (IllegalArgumentException e) {
            throw new CliException(CliException.USAGE, "--consumer: " + e.getMessage());
        }
        if (fromTime != null) {
            consumer.seekToTime(fromTime);
            consumer.commit();
        }
        return consumer;
    }

    /**
     * Up to {@code max} messages into {@code batch}, each as the bytes to print: the value, after the
     * asked-for fields if any. A run of consecutive offsets, as drainTo gives.
     */
    private int next(Consumer consumer, List<byte[]> batch, int max, Duration wait) throws InterruptedException {
        if (!(printTimestamp || printKey || printHeaders)) {
            int n = wait == null ? consumer.drainTo(batch, max) : consumer.drainTo(batch, max, wait);
            if (escape) {
                batch.replaceAll(MessageFields::escape);
            }
            return n;
        }
        int n = 0;
        while (n < max) {
            Message m = n == 0 && wait != null ? consumer.dequeueMessage(wait) : consumer.dequeueMessage();
            if (m == null) {
                break;
            }
            byte[] prefix = MessageFields.prefix(m, printTimestamp, printKey, printHeaders, escape);
            byte[] value = m.value() == null ? new byte[0] : escape ? MessageFields.escape(m.value()) : m.value();
            byte[] line = new byte[prefix.length + value.length];
            System.arraycopy(prefix, 0, line, 0, prefix.length);
            System.arraycopy(value, 0, line, prefix.length, value.length);
            batch.add(line);
            n++;
        }
        return n;
    }

    /**
     * Prints up to {@code max} messages, committing each batch once it has been written. When a write
     * fails, commits the messages written in full before it and fails with exit code 1.
     *
     * @return how many were printed.
     * @throws InterruptedException if a write was interrupted (Ctrl-C); what was written is committed.
     */
    private long drain(Consumer consumer, MessageOutput out, long max, Duration wait) throws InterruptedException {
        List<byte[]> batch = new ArrayList<>(BATCH);
        long count = 0;
        while (count < max && next(consumer, batch, (int) Math.min(BATCH, max - count), wait) > 0) {
            // Counted back from where the batch ended: a batch is a run of consecutive offsets.
            long first = consumer.position() - batch.size();
            long writtenBefore = out.writtenMessages();
            try {
                for (byte[] message : batch) {
                    out.write(message);
                }
                out.flush();
            } catch (IOException e) {
                long written = out.writtenMessages() - writtenBefore;
                // MANUAL: moving back within the uncommitted batch and committing there leaves the
                // consumer at the first message that did not reach the output.
                consumer.seek(first + written);
                consumer.commit();
                if (e instanceof ClosedByInterruptException) {
                    Thread.interrupted(); // the interrupt is handed on as the exception, as Thread.sleep does
                    throw new InterruptedException("interrupted while writing to standard output");
                }
                throw new CliException(CliException.FAILED, "cannot write to standard output: " + reason(e)
                        + "; " + Units.count(count + written) + " messages written, consumer " + consumerName
                        + " committed at offset " + consumer.committedPosition() + ", where the next consume starts",
                        e);
            }
            count += batch.size();
            batch.clear();
            consumer.commit();
        }
        return count;
    }

    /** The system's words for a failed write ("Broken pipe", "No space left on device"), else the exception. */
    private static String reason(IOException e) {
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }
}
