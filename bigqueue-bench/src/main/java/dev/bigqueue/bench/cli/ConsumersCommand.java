package dev.bigqueue.bench.cli;

import dev.bigqueue.BigQueue;
import dev.bigqueue.bench.run.Table;
import dev.bigqueue.bench.run.Units;
import dev.bigqueue.consumer.CommitMode;
import dev.bigqueue.consumer.Consumer;
import dev.bigqueue.consumer.Consumers;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code bigqueue consumers DIR [list | reset NAME (--offset N | --to-earliest | --to-latest) | delete NAME]}:
 * the named consumers of a queue, in the spirit of Kafka's consumer-groups tool.
 */
@Command(name = "consumers", mixinStandardHelpOptions = true,
        description = {"List, reset or delete the named consumers of a queue.",
            "  list              every consumer with its position, committed position and lag (the default)",
            "  reset NAME        move NAME's committed position: --offset N, --to-earliest or --to-latest",
            "  delete NAME       forget NAME, so it no longer holds arenas on disk"})
final class ConsumersCommand implements Callable<Integer> {

    enum Action { list, reset, delete }

    @Parameters(index = "0", paramLabel = "DIR", description = "The queue directory.")
    Path dir;

    @Parameters(index = "1", arity = "0..1", paramLabel = "ACTION", defaultValue = "list",
            description = "list, reset or delete (default: list).")
    Action action;

    @Parameters(index = "2", arity = "0..1", paramLabel = "NAME", description = "The consumer, for reset and delete.")
    String name;

    @CommandLine.ArgGroup(exclusive = true)
    Target target;

    /** Where reset moves a consumer. */
    static final class Target {
        @Option(names = "--offset", paramLabel = "N", description = "reset: to offset N.")
        Long offset;

        @Option(names = "--to-earliest", description = "reset: to the earliest message on disk.")
        boolean earliest;

        @Option(names = "--to-latest", description = "reset: past the last message (only new ones are read).")
        boolean latest;
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (action != Action.list && name == null) {
            throw new CliException(CliException.USAGE, action + " needs the consumer's NAME: bigqueue consumers DIR "
                    + action + " NAME");
        }
        if (action == Action.list && name != null) {
            throw new CliException(CliException.USAGE, "list takes no NAME; did you mean reset or delete?");
        }
        if (action == Action.reset && target == null) {
            throw new CliException(CliException.USAGE,
                    "reset needs a target: --offset N, --to-earliest or --to-latest");
        }
        if (action != Action.reset && target != null) {
            throw new CliException(CliException.USAGE, "--offset, --to-earliest and --to-latest go with reset only");
        }
        QueueDirectory queueDir = new QueueDirectory(dir).requireQueue();
        PrintWriter out = spec.commandLine().getOut();
        if (action == Action.list) {
            list(queueDir, out);
            return 0;
        }
        try (BigQueue queue = queueDir.open()) {
            Consumers consumers = Consumers.of(queue);
            Set<String> names = new TreeSet<>(consumers.names());
            switch (action) {
                case list -> throw new IllegalStateException("listed above");
                case reset -> {
                    requireExists(names, queueDir);
                    Consumer c = consumers.open(name, CommitMode.MANUAL);
                    long before = c.committedPosition();
                    // Closed with the queue.
                    try {
                        if (target.earliest) {
                            c.seekToBeginning();
                        } else if (target.latest) {
                            c.seekToEnd();
                        } else {
                            c.seek(target.offset);
                        }
                    } catch (IllegalArgumentException e) {
                        throw new CliException(CliException.USAGE, "cannot reset " + name + ": " + e.getMessage());
                    }
                    c.commit();
                    out.println("reset " + name + " from offset " + before + " to " + c.committedPosition()
                            + " (lag " + Units.count(c.lag()) + ")");
                }
                case delete -> {
                    requireExists(names, queueDir);
                    consumers.delete(name);
                    out.println("deleted consumer " + name);
                }
                default -> throw new IllegalStateException(action.toString());
            }
        }
        return 0;
    }

    /**
     * Lists the consumers as committed in their files, the queue open read-only: a listing changes
     * no file, and works while a consumer is open in another process (a {@code consume --follow},
     * the writer), where opening it here would fail. A damaged file is a row saying so, and then,
     * after the listing, an error (exit code 1).
     */
    private static void list(QueueDirectory queueDir, PrintWriter out) {
        Table table = new Table("name", ">position", ">committed", ">lag");
        long tail;
        try (BigQueue queue = queueDir.openReadOnly()) {
            tail = queue.tailOffset();
        }
        Map<String, PersistedConsumers.Entry> consumers = PersistedConsumers.readEach(queueDir.path());
        for (PersistedConsumers.Entry c : consumers.values()) {
            if (c.problem() != null) {
                table.row(c.name(), "damaged", "damaged", "?");
            } else {
                table.row(c.name(), Long.toString(c.committed()), Long.toString(c.committed()),
                        Units.count(Math.max(0, tail - c.committed())));
            }
        }
        if (consumers.isEmpty()) {
            out.println("no consumers in " + queueDir.path());
        } else {
            out.print(table.toText());
        }
        PersistedConsumers.failIfDamaged(queueDir.path(), consumers.values());
    }

    private void requireExists(Set<String> names, QueueDirectory queueDir) {
        if (!names.contains(name)) {
            throw new CliException(CliException.FAILED, "no consumer named '" + name + "' in " + queueDir.path()
                    + (names.isEmpty() ? "; it has none" : "; it has: " + String.join(", ", names)));
        }
    }
}
