package dev.bigqueue.bench.cli;

import dev.bigqueue.BigQueue;
import dev.bigqueue.bench.run.Units;
import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code bigqueue produce DIR}: appends the messages read from standard input, one per line (UTF-8,
 * the line end left out) or, with {@code --length-prefixed}, records of a 4-byte big-endian length
 * followed by that many bytes. Creates the queue when the directory is new or empty. Everything
 * produced is flushed to disk before the command exits.
 */
@Command(name = "produce", mixinStandardHelpOptions = true,
        description = {"Append messages from standard input: one per line, or length-prefixed records.",
            "Creates the queue if DIR does not exist or is empty."})
final class ProduceCommand implements Callable<Integer> {
    static final int MAX_RECORD_BYTES = Integer.MAX_VALUE - 64;

    @Parameters(index = "0", paramLabel = "DIR", description = "The queue directory.")
    Path dir;

    @Option(names = "--length-prefixed", description = "Read records of a 4-byte big-endian length and that many"
            + " bytes, instead of lines.")
    boolean lengthPrefixed;

    @Option(names = "--arena-size", paramLabel = "SIZE", description = "Arena size of a new queue, 4KB..1GB"
            + " (default: 4MB). Every arena file is preallocated: it takes this much disk however little it holds."
            + " Fixed when the queue is created: giving another size for an existing queue is an error.")
    String arenaSize;

    @Option(names = "--sync", description = "syncOnWrite: every message is on disk before the next is read.")
    boolean sync;

    @Option(names = "--wait", paramLabel = "SECONDS", description = "How long to wait for a queue that another"
            + " process holds, such as a `consume --follow` that is reading (default: ${DEFAULT-VALUE}). Other"
            + " failures, such as permission denied (exit code 5), are reported at once.")
    double waitSeconds = 10;

    @Option(names = {"-q", "--quiet"}, description = "Print no summary.")
    boolean quiet;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Standard input; the tests replace it. */
    static InputStream input = System.in;

    @Override
    public Integer call() throws IOException, InterruptedException {
        Long newArenaSize = arenaSize == null ? null : QueueDirectory.parseArenaSize(arenaSize);
        if (!(waitSeconds >= 0)) {
            throw new CliException(CliException.USAGE, "--wait must be 0 or more seconds, got " + waitSeconds);
        }
        QueueDirectory queueDir = new QueueDirectory(dir).requireQueueOrNew();
        boolean created = !queueDir.exists();
        long createdArenaSize;
        long count = 0;
        long first = -1;
        long last = -1;
        Duration patience = Duration.ofNanos((long) (waitSeconds * 1e9));
        try (BigQueue queue = queueDir.openWhenFree(newArenaSize, sync, patience)) {
            createdArenaSize = queue.config().arenaSize();
            if (lengthPrefixed) {
                DataInputStream in = new DataInputStream(input);
                while (true) {
                    int length;
                    try {
                        length = in.readInt();
                    } catch (EOFException e) {
                        break;
                    }
                    if (length < 0 || length > MAX_RECORD_BYTES) {
                        throw new CliException(CliException.FAILED, "record " + count + " on standard input has length "
                                + length + "; a length is a 4-byte big-endian count of 0.." + MAX_RECORD_BYTES);
                    }
                    byte[] message = new byte[length];
                    try {
                        in.readFully(message);
                    } catch (EOFException e) {
                        throw new CliException(CliException.FAILED, "record " + count + " on standard input is cut"
                                + " short: expected " + length + " bytes; the records before it were produced");
                    }
                    last = queue.enqueue(message);
                    first = first < 0 ? last : first;
                    count++;
                }
            } else {
                BufferedReader in = new BufferedReader(new InputStreamReader(input, StandardCharsets.UTF_8), 1 << 16);
                String line;
                while ((line = in.readLine()) != null) {
                    last = queue.enqueueString(line);
                    first = first < 0 ? last : first;
                    count++;
                }
            }
            queue.flush();
        }
        if (!quiet) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("produced " + Units.count(count) + " messages to " + queueDir.path()
                    + (count > 0 ? ", offsets " + first + ".." + last : ""));
            if (created) {
                err.println("created the queue with arena size " + Units.bytes(createdArenaSize) + ": every arena"
                        + " file is preallocated, so each takes " + Units.bytes(createdArenaSize) + " on disk however"
                        + " little it holds (--arena-size sets it for a new queue)");
            }
        }
        return 0;
    }
}
