package dev.bigqueue.bench.cli;

import dev.bigqueue.BigQueue;
import dev.bigqueue.UpgradeReport;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code bigqueue upgrade DIR}: rewrites a queue of format version 1 in the current format
 * ({@link BigQueue#upgrade}), the command that the error on opening such a queue names. Exit code
 * 0 when upgraded or already current; 4 if the queue is open elsewhere; 1 if it cannot be upgraded
 * (not closed cleanly, damaged, unknown version), with the reason.
 */
@Command(name = "upgrade", mixinStandardHelpOptions = true,
        description = {"Rewrite a queue written by an earlier bigqueue (format version 1) in the current format:",
            "same messages at the same offsets, every consumer where it was; each message is timestamped with",
            "the modification time of the old arena file it was in. The old files are kept beside the queue",
            "(DIR.v1-TIMESTAMP) until you delete them. The queue must be closed, and closed cleanly."})
final class UpgradeCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "DIR", description = "The queue directory.")
    Path dir;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        QueueDirectory queueDir = new QueueDirectory(dir).requireQueue();
        UpgradeReport report = queueDir.offline("upgrade", BigQueue::upgrade);
        spec.commandLine().getOut().println(report);
        return 0;
    }
}
