package dev.bigqueue.bench.cli;

import dev.bigqueue.BigQueue;
import dev.bigqueue.Message;
import dev.bigqueue.bench.run.Units;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code bigqueue produce DIR}: appends the messages read from standard input, one per line or,
 * with {@code --length-prefixed}, records of a 4-byte big-endian length followed by that many bytes.
 * Either way a message is its bytes as given, never decoded (it need not be UTF-8). A line ends at
 * {@code \n}, and a {@code \r} right before it is part of the line end (CRLF); a lone {@code \r} is
 * part of the message. Creates the queue when the directory is new or empty, once the first message
 * has been read, so input that is wrong from its start, or empty (a pipe whose producer failed),
 * leaves no queue behind. Everything
 * produced is flushed to disk before the command exits. {@code --key}, {@code --header} and
 * {@code --timestamp} give every message of the run that key, those headers and that timestamp
 * (without {@code --timestamp}, each is stamped when it is enqueued). {@code --key-separator SEP}
 * reads a key from each line instead: KEY, SEP, then the value (split at the first SEP), as Kafka's
 * console producer does with {@code parse.key}.
 */
@Command(name = "produce", mixinStandardHelpOptions = true,
        description = {"Append messages from standard input: one per line, or length-prefixed records.",
            "Each message is stored as its bytes, as given (any encoding). A line ends at \\n; a \\r right before"
                + " it is left out too (CRLF), a lone \\r is kept.",
            "Creates the queue if DIR does not exist or is empty, once the first message has been read (empty input"
                + " creates nothing)."})
final class ProduceCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "DIR", description = "The queue directory.")
    Path dir;

    @Option(names = "--length-prefixed", description = "Read records of a 4-byte big-endian length and that many"
            + " bytes, instead of lines. Input that ends inside a record, its length included, is an error.")
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

    @Option(names = "--key", paramLabel = "KEY", description = "The key of every message of this run (UTF-8).")
    String key;

    @Option(names = "--key-separator", paramLabel = "SEP", description = "Each line is KEY, SEP, VALUE (split at the"
            + " first SEP; \\t for a tab): every message gets its own key. Not with --key or --length-prefixed.")
    String keySeparator;

    @Option(names = "--header", paramLabel = "NAME=VALUE", description = "A header on every message of this run;"
            + " repeat it for more (names may repeat, order is kept). VALUE is UTF-8 and may be empty.")
    List<String> headers = new ArrayList<>();

    @Option(names = "--timestamp", paramLabel = "TIME", description = "The timestamp of every message of this run:"
            + " an ISO-8601 instant in UTC (2026-12-02T10:00:00Z, 2026-12-02T10:00:00.123Z) or epoch milliseconds"
            + " (default: the time each message is enqueued).")
    String timestamp;

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
        String separator = separator();
        Message.Builder template = template();
        if (separator != null && template == null) {
            template = Message.builder();
        }
        QueueDirectory queueDir = new QueueDirectory(dir).requireQueueOrNew();
        boolean created = !queueDir.exists();
        long createdArenaSize;
        long count = 0;
        long first = -1;
        long last = -1;
        Duration patience = Duration.ofNanos((long) (waitSeconds * 1e9));
        StandardInputRecords in = lengthPrefixed ? StandardInputRecords.lengthPrefixed(input)
                : StandardInputRecords.lines(input);
        // The first message before the open: input that is wrong from its start creates no queue, and
        // a produce waiting for its first line (typed, or from a slow pipe) does not hold the queue.
        byte[] message = in.next();
        byte[] separatorBytes = separator == null ? null : separator.getBytes(StandardCharsets.UTF_8);
        Message.Builder keyed = message != null && separatorBytes != null ? withKey(template, message,
                separatorBytes, 1) : null;
        if (message == null && created) {
            // No message, so no queue: the help promises one only once the first message is read, and an
            // empty pipe (its producer failed, a mistyped path) must not leave a preallocated arena behind.
            if (!quiet) {
                spec.commandLine().getErr().println("produced 0 messages: standard input was empty, so no queue was"
                        + " created at " + queueDir.path() + " (it is created with the first message)");
            }
            return 0;
        }
        try (BigQueue queue = queueDir.openWhenFree(newArenaSize, sync, patience)) {
            createdArenaSize = queue.config().arenaSize();
            for (; message != null; message = in.next()) {
                if (separatorBytes != null) {
                    last = queue.enqueue((keyed != null ? keyed : withKey(template, message, separatorBytes,
                            count + 1)).build());
                    keyed = null;
                } else {
                    last = template == null ? queue.enqueue(message) : queue.enqueue(template.value(message).build());
                }
                first = first < 0 ? last : first;
                count++;
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

    /**
     * {@code template} with the key and value of {@code line}: the bytes before the first
     * {@code separator}, and those after it, as given (not decoded: a key need not be UTF-8).
     */
    private static Message.Builder withKey(Message.Builder template, byte[] line, byte[] separator, long lineNumber) {
        int at = indexOf(line, separator);
        if (at < 0) {
            throw new CliException(CliException.FAILED, "line " + lineNumber + " on standard input has no key"
                    + " separator " + MessageFields.visible(new String(separator, StandardCharsets.UTF_8)) + ": with"
                    + " --key-separator every line is KEY, the separator, then the value; the "
                    + Units.count(lineNumber - 1) + " lines before it were produced");
        }
        return template.key(Arrays.copyOfRange(line, 0, at)).value(Arrays.copyOfRange(line, at + separator.length,
                line.length));
    }

    private static int indexOf(byte[] bytes, byte[] part) {
        for (int i = 0; i + part.length <= bytes.length; i++) {
            if (Arrays.equals(bytes, i, i + part.length, part, 0, part.length)) {
                return i;
            }
        }
        return -1;
    }

    /** The --key-separator, with \t read as a tab; null if not given. Checked before anything is opened. */
    private String separator() {
        if (keySeparator == null) {
            return null;
        }
        if (key != null || lengthPrefixed) {
            throw new CliException(CliException.USAGE, "--key-separator reads a key from each line; it cannot go with "
                    + (key != null ? "--key (one key for every message)" : "--length-prefixed (records, not lines)"));
        }
        String sep = keySeparator.replace("\\t", "\t");
        if (sep.isEmpty() || sep.indexOf('\n') >= 0 || sep.indexOf('\r') >= 0) {
            throw new CliException(CliException.USAGE, "--key-separator must be one or more characters other than"
                    + " line ends, such as : or \\t (a tab); got " + MessageFields.visible(keySeparator));
        }
        return sep;
    }

    /**
     * A builder holding --key, --header and --timestamp, checked by building a message with it
     * before the queue is opened (bad input changes nothing); null when none of them was given.
     */
    private Message.Builder template() {
        Instant time = timestamp == null ? null : MessageFields.parseTime("--timestamp", timestamp);
        if (key == null && headers.isEmpty() && time == null) {
            return null;
        }
        Message.Builder b = Message.builder();
        try {
            if (key != null) {
                b.key(key);
            }
        } catch (IllegalArgumentException e) {
            throw new CliException(CliException.USAGE, "--key: " + e.getMessage());
        }
        for (String header : headers) {
            int eq = header.indexOf('=');
            if (eq <= 0) {
                throw new CliException(CliException.USAGE, "--header: '" + header + "' is not NAME=VALUE: give a"
                        + " non-empty name, '=' and the value (which may be empty), such as --header source=web");
            }
            try {
                b.header(header.substring(0, eq), header.substring(eq + 1));
            } catch (IllegalArgumentException e) {
                throw new CliException(CliException.USAGE, "--header " + header + ": " + e.getMessage());
            }
        }
        try {
            if (time != null) {
                b.timestamp(time);
            }
            b.value(new byte[0]).build();
        } catch (IllegalArgumentException e) {
            throw new CliException(CliException.USAGE, (time != null ? "--timestamp/" : "") + "--key/--header: "
                    + e.getMessage());
        }
        return b;
    }
}
