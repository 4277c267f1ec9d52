package dev.bigqueue.bench.cli;

import dev.bigqueue.bench.run.ForwardRun;
import dev.bigqueue.bench.run.Units;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bigqueue forward-bench --bootstrap-server HOST:PORT}: the forwarder beside a plain
 * KafkaProducer sending the same records in the same run, in turns, each on a fresh topic:
 * messages per second (first enqueue or send to the last acknowledgement) and end-to-end latency
 * (local enqueue to the local commit that follows Kafka's acknowledgement, against send to
 * acknowledgement). Needs a broker; creates topics {@code bigqueue-bench-*}.
 */
@Command(name = "forward-bench", mixinStandardHelpOptions = true,
        description = {"Forward a queue to Kafka beside a plain KafkaProducer sending the same records, in turns:",
            "msgs/s and latency (HdrHistogram). Creates topics named bigqueue-bench-* on the cluster."})
final class ForwardBenchCommand implements Callable<Integer> {
    @Option(names = {"-b", "--bootstrap-server"}, required = true, paramLabel = "HOST:PORT",
            description = "The Kafka cluster.")
    String bootstrap;

    @Option(names = "--messages", paramLabel = "N", description = "Records per run (default: ${DEFAULT-VALUE}).")
    int messages = 200_000;

    @Option(names = "--size", paramLabel = "BYTES", description = "Record size (default: ${DEFAULT-VALUE}).")
    int size = 100;

    @Option(names = "--rounds", paramLabel = "N", description = "Runs of each side, in turns (default:"
            + " ${DEFAULT-VALUE}); the table shows the median.")
    int rounds = 3;

    @Option(names = "--rate", paramLabel = "MSGS_PER_S", description = "Also a latency run at this fixed rate"
            + " (default: ${DEFAULT-VALUE}; 0: none).")
    long rate = 20_000;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (messages < 1 || size < 0 || rounds < 1 || rate < 0) {
            throw new CliException(CliException.USAGE, "--messages and --rounds must be at least 1, --size and --rate"
                    + " 0 or more");
        }
        PrintWriter out = spec.commandLine().getOut();
        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        out.println("forward-bench: " + Units.count(messages) + " records of " + size + " B per run, " + rounds
                + " round(s), broker " + bootstrap + "; acks=all, idempotent, Kafka's other defaults on both sides");
        report(out, "as fast as possible", runs(props, 0));
        if (rate > 0) {
            int saved = messages;
            messages = (int) Math.min(messages, rate * 10);
            report(out, "at " + Units.count(rate) + " msg/s (latency from each record's scheduled time)",
                    runs(props, rate));
            messages = saved;
        }
        return 0;
    }

    private List<List<ForwardRun.Result>> runs(Properties props, long ratePerSecond) throws Exception {
        ForwardRun run = new ForwardRun(props, messages, size, ratePerSecond);
        List<ForwardRun.Result> direct = new ArrayList<>();
        List<ForwardRun.Result> forwarded = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            direct.add(run.direct(newTopic()));
            Path dir = Files.createTempDirectory("bigqueue-forward-bench-");
            try {
                forwarded.add(run.forwarded(dir, newTopic()));
            } finally {
                delete(dir);
            }
            spec.commandLine().getErr().println("round " + (r + 1) + ": direct "
                    + Units.count((long) direct.get(r).messagesPerSecond()) + " msg/s, forwarded "
                    + Units.count((long) forwarded.get(r).messagesPerSecond()) + " msg/s");
        }
        return List.of(direct, forwarded);
    }

    private void report(PrintWriter out, String title, List<List<ForwardRun.Result>> sides) {
        out.println();
        out.println("### " + title);
        out.println("| side | msg/s (median) | p50 µs | p99 µs | p99.9 µs |");
        out.println("| --- | ---: | ---: | ---: | ---: |");
        double[] medians = new double[2];
        for (int s = 0; s < 2; s++) {
            List<ForwardRun.Result> results = new ArrayList<>(sides.get(s));
            results.sort(Comparator.comparingDouble(ForwardRun.Result::messagesPerSecond));
            ForwardRun.Result median = results.get(results.size() / 2);
            medians[s] = median.messagesPerSecond();
            out.println("| " + median.side() + " | " + Units.count((long) median.messagesPerSecond()) + " | "
                    + Units.decimal(median.micros(50)) + " | " + Units.decimal(median.micros(99)) + " | "
                    + Units.decimal(median.micros(99.9)) + " |");
        }
        out.println("forwarder / plain producer: " + Units.ratio(medians[1] / medians[0]));
        out.flush();
    }

    private String newTopic() throws Exception {
        String name = "bigqueue-bench-" + System.nanoTime();
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        try (Admin admin = Admin.create(p)) {
            admin.createTopics(List.of(new NewTopic(name, 1, (short) 1))).all().get(1, TimeUnit.MINUTES);
        }
        return name;
    }

    private static void delete(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
