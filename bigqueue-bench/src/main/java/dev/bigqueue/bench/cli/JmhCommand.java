package dev.bigqueue.bench.cli;

import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code bigqueue jmh [JMH options]}: runs the JMH suite packed in this jar, with JMH's own option
 * parser ({@code -h} lists its options). {@link Main} hands the arguments to JMH before picocli sees
 * them; this class exists so that {@code bigqueue --help} lists the command.
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
            org.openjdk.jmh.Main.main(translated);
            return 0;
        } catch (Exception e) {
            err.println("jmh: error: " + e.getMessage());
            return CliException.FAILED;
        }
    }
}
