package dev.bigqueue.bench.cli;

import dev.bigqueue.bench.run.JmhRatios;
import dev.bigqueue.bench.run.Table;
import java.io.PrintWriter;
import java.util.Collection;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code bigqueue jmh [JMH options]}: runs the JMH suite packed in this jar, with JMH's own option
 * parser ({@code -h} lists its options), then prints the peers' scores side by side with bigqueue's
 * and the ratios. {@link Main} hands the arguments here before picocli sees them; the picocli
 * annotations exist so that {@code bigqueue --help} lists the command.
 */
@Command(name = "jmh", description = {"Run the JMH benchmarks in this jar (JMH's options; -h lists them).",
    "Example: bigqueue jmh Enqueue -p peer=BIGQUEUE,CHRONICLE,RAW_MAPPED -p messageSize=128"})
final class JmhCommand implements Runnable {

    @Parameters(description = "JMH options and benchmark name patterns.")
    String[] jmhArgs = {};

    @Override
    public void run() {
        runJmh(jmhArgs, new PrintWriter(System.err, true));
    }

    static int runJmh(String[] args, PrintWriter err) {
        String[] translated = args.clone();
        for (int i = 0; i < translated.length; i++) {
            if (translated[i].equals("--help")) {
                translated[i] = "-h";
            }
        }
        try {
            CommandLineOptions options = new CommandLineOptions(translated);
            if (options.shouldHelp() || options.shouldList() || options.shouldListWithParams()
                    || options.shouldListProfilers() || options.shouldListResultFormats()) {
                org.openjdk.jmh.Main.main(translated);
                return 0;
            }
            Collection<RunResult> results = new Runner(options).run();
            Table ratios = JmhRatios.table(results);
            if (ratios != null) {
                System.out.println();
                System.out.println("Side by side (bigqueue advantage > 1: bigqueue is faster; same params, this run):");
                System.out.print(ratios.toText());
                System.out.flush();
            }
            return 0;
        } catch (CommandLineOptionException e) {
            err.println("jmh: error: " + e.getMessage() + "; `bigqueue jmh -h` lists the options");
            return CliException.USAGE;
        } catch (Exception e) {
            err.println("jmh: error: " + e.getMessage());
            return CliException.FAILED;
        }
    }
}
