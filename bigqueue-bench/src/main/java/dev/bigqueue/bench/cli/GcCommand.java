package dev.bigqueue.bench.cli;

import dev.bigqueue.BigQueue;
import dev.bigqueue.bench.run.Units;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code bigqueue gc DIR [--ignore-own-consumer]}: deletes the arena files that every consumer has
 * read past, now, and says what it freed and what holds the rest.
 *
 * <p><b>Why it exists.</b> Like every consumer, the queue's own consumer ({@code BigQueue.dequeue()})
 * holds arenas on disk until it has read past them, and the command line never reads it: it reads
 * through named consumers ({@code consume -c NAME}). A queue made and read only through the command
 * line therefore keeps every arena however far its named consumers have read. The CLI does not
 * open queues without the own consumer by default, because the queue does not record whether an
 * application uses it: a CLI command that ignored it on an application's queue would let the
 * collector delete what that application has not read. {@code --ignore-own-consumer} says so
 * explicitly, for one run: only the named consumers count, and the own consumer's position moves up
 * to the earliest message kept.
 */
@Command(name = "gc", mixinStandardHelpOptions = true,
        description = {"Delete the arena files every consumer has read past, and say what holds the rest.",
            "The queue's own consumer (BigQueue.dequeue, which the command line never reads) holds arenas like any"
                + " other; --ignore-own-consumer leaves it out, so that what the named consumers have read is freed."})
final class GcCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "DIR", description = "The queue directory.")
    Path dir;

    @Option(names = "--ignore-own-consumer", description = "Count the named consumers only: the queue's own"
            + " consumer stops holding arenas, and its position moves up to the earliest message kept. Do not use it"
            + " on a queue that an application reads with BigQueue.dequeue(): that application would miss what was"
            + " deleted.")
    boolean ignoreOwnConsumer;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        QueueDirectory queueDir = new QueueDirectory(dir).requireQueue();
        List<QueueDirectory.ArenaFile> before = queueDir.arenas();
        TreeMap<String, Long> positions = new TreeMap<>();
        long head;
        long earliest;
        long tail;
        try (BigQueue queue = queueDir.openForGc(!ignoreOwnConsumer)) {
            queue.gc();
            // From the files, not by opening each consumer: one may be open in another process (a
            // consume --follow), and what it has committed there is what the collector counted.
            PersistedConsumers.read(queueDir.path()).forEach((name, committed) -> positions.put(name, committed[0]));
            head = ignoreOwnConsumer ? -1 : queue.headOffset();
            earliest = queue.earliestOffset();
            tail = queue.tailOffset();
        }
        List<QueueDirectory.ArenaFile> after = queueDir.arenas();
        long freedBytes = before.stream().mapToLong(QueueDirectory.ArenaFile::bytes).sum()
                - after.stream().mapToLong(QueueDirectory.ArenaFile::bytes).sum();
        long keptBytes = after.stream().mapToLong(QueueDirectory.ArenaFile::bytes).sum();
        PrintWriter out = spec.commandLine().getOut();
        out.println("deleted " + Units.count(Math.max(0, before.size() - after.size())) + " arena files ("
                + Units.bytesApprox(Math.max(0, freedBytes)) + "), kept " + Units.count(after.size()) + " ("
                + Units.bytesApprox(keptBytes) + "); messages on disk: "
                + (tail > earliest ? "offsets " + earliest + ".." + (tail - 1) : "none"));
        if (after.size() <= 1) {
            out.println("the arena being written is always kept");
        } else {
            for (String line : holders(queueDir.path(), head, positions, tail)) {
                out.println(line);
            }
        }
        return 0;
    }

    /** Who holds the oldest arena kept, with the way out when it is the queue's own consumer. */
    private List<String> holders(Path queuePath, long head, TreeMap<String, Long> positions, long tail) {
        List<String> lines = new ArrayList<>();
        long oldest = Math.min(head >= 0 ? head : Long.MAX_VALUE,
                positions.values().stream().mapToLong(Long::longValue).min().orElse(Long.MAX_VALUE));
        if (oldest == Long.MAX_VALUE) {
            lines.add("no consumer counts (no named consumers, and --ignore-own-consumer leaves the queue's own"
                    + " out): an arena is deleted only once a consumer has read past it, so nothing was freed");
            return lines;
        }
        if (oldest >= tail) {
            lines.add("every consumer has read everything");
            return lines;
        }
        List<String> names = new ArrayList<>();
        if (head == oldest) {
            names.add("the queue's own consumer");
        }
        positions.forEach((name, position) -> {
            if (position == oldest) {
                names.add("consumer '" + name + "'");
            }
        });
        lines.add("the oldest arena kept is held by " + String.join(", ", names) + " at offset " + oldest);
        if (head == oldest && positions.values().stream().allMatch(p -> p > oldest)) {
            lines.add("the queue's own consumer (BigQueue.dequeue) is behind every named consumer; if no application"
                    + " reads this queue with dequeue(), free what the named consumers have read with: bigqueue gc "
                    + queuePath + " --ignore-own-consumer");
        }
        return lines;
    }
}
