package dev.bigqueue.bench.cli;

import dev.bigqueue.BigQueue;
import dev.bigqueue.bench.run.Units;
import dev.bigqueue.kafka.KafkaForwarder;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code bigqueue forward DIR --topic T --bootstrap-server HOST:PORT}: runs a
 * {@link KafkaForwarder} as a process until Ctrl-C (or, with {@code --until-done}, until the queue
 * is forwarded up to its tail), printing a status line every {@code --status-interval} seconds.
 * A queue is open in one process at a time: this process holds it while it forwards.
 */
@Command(name = "forward", mixinStandardHelpOptions = true,
        description = {"Forward a queue to a Kafka topic through a named consumer: at least once, in order,",
            "committing locally only what Kafka acknowledged (acks=all, idempotent producer).",
            "Runs until Ctrl-C; the next run resumes where this one's commits ended."})
final class ForwardCommand implements Callable<Integer> {
    private static final Pattern HOST_PORT = Pattern.compile("[^,:\\s]+:\\d{1,5}(,[^,:\\s]+:\\d{1,5})*");

    @Parameters(index = "0", paramLabel = "DIR", description = "The queue directory.")
    Path dir;

    @Option(names = {"-t", "--topic"}, required = true, paramLabel = "TOPIC", description = "The Kafka topic.")
    String topic;

    @Option(names = {"-b", "--bootstrap-server"}, required = true, paramLabel = "HOST:PORT",
            description = "Kafka brokers to connect to first: HOST:PORT[,HOST:PORT...].")
    String bootstrap;

    @Option(names = {"-c", "--consumer"}, paramLabel = "NAME", description = "The named consumer that keeps the"
            + " forwarder's place (default: ${DEFAULT-VALUE}).")
    String consumer = "to-kafka";

    @Option(names = "--producer-config", paramLabel = "FILE", description = "More Kafka producer properties (a"
            + " .properties file: security.protocol, sasl.*, linger.ms, ...). acks and enable.idempotence are"
            + " forced to all and true.")
    Path producerConfig;

    @Option(names = "--max-in-flight", paramLabel = "N", description = "Messages sent and not yet acknowledged, at"
            + " most; a kill -9 resends at most these (default: ${DEFAULT-VALUE}).")
    int maxInFlight = 10_000;

    @Option(names = "--until-done", description = "Exit once every message in the queue when it started has been"
            + " acknowledged, instead of waiting for more.")
    boolean untilDone;

    @Option(names = "--status-interval", paramLabel = "SECONDS", description = "Print forwarded, lag, in flight"
            + " and the last error this often (default: ${DEFAULT-VALUE}; 0: never).")
    double statusSeconds = 10;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        if (!HOST_PORT.matcher(bootstrap).matches()) {
            throw new CliException(CliException.USAGE, "--bootstrap-server: '" + bootstrap + "' is not HOST:PORT"
                    + "[,HOST:PORT...], e.g. kafka-1:9092");
        }
        if (topic.isBlank()) {
            throw new CliException(CliException.USAGE, "--topic must not be blank");
        }
        if (statusSeconds < 0) {
            throw new CliException(CliException.USAGE, "--status-interval must be 0 or more, got " + statusSeconds);
        }
        Properties props = producerProperties();
        PrintWriter out = spec.commandLine().getOut();
        QueueDirectory queueDir = new QueueDirectory(dir).requireQueue();
        CountDownLatch finished = new CountDownLatch(1);
        Thread main = Thread.currentThread();
        Thread hook = new Thread(() -> {
            // Ctrl-C: let the main thread close the forwarder (committing what Kafka acknowledged).
            main.interrupt();
            try {
                finished.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "forward-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try (BigQueue queue = queueDir.open()) {
            KafkaForwarder forwarder;
            try {
                forwarder = KafkaForwarder.builder().queue(queue).consumer(consumer).topic(topic)
                        .producerProperties(props).maxInFlight(maxInFlight).build();
            } catch (IllegalArgumentException e) {
                throw new CliException(CliException.USAGE, e.getMessage());
            }
            try (forwarder) {
                forwarder.start();
                long target = queue.tailOffset();
                out.println("forwarding " + dir + " (consumer " + consumer + ", from offset "
                        + forwarder.committedOffset() + ") to topic " + topic + " at " + bootstrap);
                out.flush();
                run(forwarder, target, out);
                out.println(status(forwarder));
            }
        } finally {
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is shutting down (Ctrl-C)
            }
        }
        return 0;
    }

    private void run(KafkaForwarder forwarder, long target, PrintWriter out) {
        long intervalNs = statusSeconds == 0 ? Long.MAX_VALUE : (long) (statusSeconds * 1e9);
        long nextStatus = System.nanoTime() + intervalNs;
        try {
            while (forwarder.isRunning()) {
                if (untilDone && forwarder.committedOffset() >= target) {
                    return;
                }
                // Looks for --until-done a few times a second; the forwarder works on its own thread.
                Thread.sleep(100);
                if (System.nanoTime() - nextStatus >= 0) {
                    out.println(status(forwarder));
                    out.flush();
                    nextStatus += intervalNs;
                }
            }
            throw new CliException(CliException.FAILED, "the forwarder stopped: " + forwarder.lastError());
        } catch (InterruptedException e) {
            // Ctrl-C: closing the forwarder commits what Kafka acknowledged.
        }
    }

    private static String status(KafkaForwarder f) {
        Exception e = f.lastError();
        return "forwarded " + Units.count(f.forwarded()) + ", committed up to offset " + f.committedOffset() + ", lag "
                + Units.count(f.lag()) + ", in flight " + Units.count(f.inFlight())
                + (e == null ? "" : ", last error: " + e);
    }

    private Properties producerProperties() {
        Properties p = new Properties();
        if (producerConfig != null) {
            try (InputStream in = Files.newInputStream(producerConfig)) {
                p.load(in);
            } catch (NoSuchFileException e) {
                throw new CliException(CliException.USAGE, "--producer-config: no such file: " + producerConfig);
            } catch (IOException e) {
                throw new CliException(CliException.USAGE, "--producer-config: cannot read " + producerConfig + ": "
                        + e.getMessage());
            }
        }
        p.put("bootstrap.servers", bootstrap);
        return p;
    }
}
