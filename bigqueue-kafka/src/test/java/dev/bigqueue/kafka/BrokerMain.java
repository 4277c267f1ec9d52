package dev.bigqueue.kafka;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A child JVM running one real Kafka node (broker and KRaft controller in one process), so that
 * a test can kill it with {@code kill -9} and start it again on the same ports and log directory.
 * Args: DIR BROKER_PORT CONTROLLER_PORT. Formats DIR/data on the first start (StorageTool, as
 * {@code kafka-storage.sh format} does), then runs {@code kafka.Kafka.main}. Its log goes to
 * stderr through slf4j-simple, so a broker that fails to start says why in the test's report.
 */
public final class BrokerMain {
    private BrokerMain() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int brokerPort = Integer.parseInt(args[1]);
        int controllerPort = Integer.parseInt(args[2]);
        Files.createDirectories(dir);
        Path config = dir.resolve("server.properties");
        Files.writeString(config, String.join("\n",
                "process.roles=broker,controller",
                "node.id=1",
                "controller.quorum.voters=1@127.0.0.1:" + controllerPort,
                "listeners=PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort,
                "advertised.listeners=PLAINTEXT://127.0.0.1:" + brokerPort,
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "log.dirs=" + dir.resolve("data"),
                "num.partitions=1",
                "auto.create.topics.enable=false",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "group.initial.rebalance.delay.ms=0",
                // a restart after kill -9 in about 5 s instead of the default session timeout's 9 s and more
                "broker.session.timeout.ms=2000",
                "broker.heartbeat.interval.ms=500",
                ""), StandardCharsets.UTF_8);
        if (!Files.exists(dir.resolve("data").resolve("meta.properties"))) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            int rc = kafka.tools.StorageTool.execute(new String[] {"format", "-t", "bigqueue-test-cluster0",
                "-c", config.toString(), "--ignore-formatted"}, new PrintStream(out, true, StandardCharsets.UTF_8));
            if (rc != 0) {
                System.err.println("StorageTool format failed (" + rc + "): " + out.toString(StandardCharsets.UTF_8));
                System.exit(2);
            }
        }
        System.out.println("STARTING");
        System.out.flush();
        kafka.Kafka.main(new String[] {config.toString()});
    }
}
