package dev.bigqueue.bench.cli;

import java.io.PrintWriter;
import java.util.Arrays;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code bigqueue} command: {@code bench}, {@code inspect}, {@code produce}, {@code consume},
 * {@code consumers}, {@code gc}, {@code repair}, {@code forward}, {@code forward-bench}, and {@code jmh}
 * (the JMH suite in this jar). Run it through the
 * {@code ./bigqueue} launcher at the top of the repository, which builds this jar when needed and
 * passes the JVM flags Chronicle Queue needs.
 *
 * <p>Exit codes: 0 done; 1 the work failed (I/O, a damaged queue, a failed write to standard
 * output); 2 bad options; 3 no queue at the directory, or a directory that holds something else;
 * 4 the queue is open elsewhere; 5 permission denied on the directory or a file in it.
 */
@Command(name = "bigqueue", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Tools for bigqueue, the embedded persistent queue: compare it with its peers, look inside"
                + " a queue directory, produce and consume messages.",
        subcommands = {BenchCommand.class, InspectCommand.class, ProduceCommand.class, ConsumeCommand.class,
            ConsumersCommand.class, GcCommand.class, RepairCommand.class, UpgradeCommand.class, WorkloadCommand.class,
            JmhCommand.class, ForwardCommand.class, ForwardBenchCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Exit codes: 0 ok, 1 failed, 2 bad options, 3 not a queue directory, 4 queue in use,",
            "5 permission denied.",
            "Run the JMH suite: bigqueue jmh [JMH options], e.g. bigqueue jmh -h"})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        // Before any logger exists: warnings only (Chronicle is chatty at INFO), unless asked otherwise.
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
            // forward runs for hours: its start, outages, recoveries and stop belong in its log.
            System.setProperty("org.slf4j.simpleLogger.log.dev.bigqueue.kafka", "info");
            System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        }
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /**
     * Runs one command line with the given output streams; the tests call this.
     *
     * @return the exit code.
     */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        if (args.length > 0 && args[0].equals("jmh")) {
            // JMH parses its own options; see JmhCommand.
            return JmhCommand.runJmh(Arrays.copyOfRange(args, 1, args.length), err);
        }
        CommandLine commandLine = commandLine(out, err);
        try {
            return commandLine.execute(args);
        } finally {
            out.flush();
            err.flush();
        }
    }

    static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        CommandLine commandLine = new CommandLine(new Main());
        commandLine.setOut(out);
        commandLine.setErr(err);
        commandLine.setCaseInsensitiveEnumValuesAllowed(true);
        commandLine.setExecutionExceptionHandler((e, cmd, parseResult) -> {
            Throwable cause = e;
            while (!(cause instanceof CliException) && cause.getCause() != null
                    && cause.getCause() != cause) {
                cause = cause.getCause();
            }
            String name = cmd.getCommandName();
            if (!(cause instanceof CliException)) {
                // Failures after the queue opened (a consumer's file, a new arena) get the exit codes and
                // words of the same failures at the open.
                CliException known = CliException.afterOpen(e);
                cause = known != null ? known : cause;
            }
            if (cause instanceof CliException cli) {
                cmd.getErr().println(name + ": error: " + cli.getMessage());
                return cli.exitCode();
            }
            if (e instanceof IllegalArgumentException) {
                cmd.getErr().println(name + ": error: " + e.getMessage());
                return CliException.USAGE;
            }
            cmd.getErr().println(name + ": error: " + e);
            if (Boolean.getBoolean("bigqueue.debug")) {
                e.printStackTrace(cmd.getErr());
            } else {
                cmd.getErr().println("(run with JAVA_OPTS=-Dbigqueue.debug=true for the stack trace)");
            }
            return CliException.FAILED;
        });
        return commandLine;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The version from the jar's manifest, or the build's. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = Main.class.getPackage().getImplementationVersion();
            return new String[] {"bigqueue " + (version == null ? "0.1.0-SNAPSHOT" : version),
                "JVM: ${java.version} (${java.vendor} ${java.vm.name} ${java.vm.version})"};
        }
    }
}
