package dev.bigqueue.bench.cli;

import dev.bigqueue.BigQueue;
import dev.bigqueue.RepairReport;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code bigqueue repair DIR}: makes a damaged queue openable again ({@link BigQueue#repair}),
 * printing every step and the offsets given up. Files taken out of the queue are moved to a
 * directory beside it. Exit code 0 whether or not something was repaired; 4 if the queue is open
 * elsewhere; 1 if it cannot be repaired (its queue.meta is unreadable).
 */
@Command(name = "repair", mixinStandardHelpOptions = true,
        description = {"Make a damaged queue openable again: check every arena file and record, cut the log at the",
            "first damage, move consumers into what is left, and print exactly which offsets were lost.",
            "Files taken out of the queue are moved beside it, never deleted. The queue must not be open."})
final class RepairCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "DIR", description = "The queue directory.")
    Path dir;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        QueueDirectory queueDir = new QueueDirectory(dir);
        RepairReport report = queueDir.offline("repair", BigQueue::repair);
        PrintWriter out = spec.commandLine().getOut();
        out.print(report);
        if (report.wasWhole()) {
            out.println("the queue was whole: nothing changed");
        }
        return 0;
    }
}
