package dev.bigqueue.kafka;

import dev.bigqueue.testing.ChildJvm;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;

/**
 * The test side of {@link BrokerMain}: starts the broker child, waits until it answers
 * {@code Admin.describeCluster}, kills it with {@code kill -9} and restarts it on the same ports
 * and log directory. The waits are on conditions (the broker answering); their limits only turn
 * a broker that never comes into a failure with its log instead of a hung build.
 */
final class KafkaBroker implements AutoCloseable {
    /** A hang detector, not a timing assumption: a healthy start takes seconds, even on a busy machine. */
    static final Duration START_LIMIT = Duration.ofMinutes(3);

    private final Path dir;
    private final int brokerPort;
    private final int controllerPort;
    private ChildJvm child;

    private KafkaBroker(Path dir, int brokerPort, int controllerPort) {
        this.dir = dir;
        this.brokerPort = brokerPort;
        this.controllerPort = controllerPort;
    }

    /** Starts a new single-node cluster in {@code dir} and waits until it answers. */
    static KafkaBroker start(Path dir) throws Exception {
        Files.createDirectories(dir);
        int[] ports = freePorts(2);
        KafkaBroker b = new KafkaBroker(dir, ports[0], ports[1]);
        b.launch();
        return b;
    }

    String bootstrap() {
        return "127.0.0.1:" + brokerPort;
    }

    /** {@code kill -9}: the broker gets no chance to flush or say goodbye. */
    void kill() throws InterruptedException {
        child.kill();
        child.close();
        child = null;
    }

    /**
     * {@code kill -STOP}: the broker keeps its connections open but answers nothing, so records
     * sent now stay in flight (no disconnect for the producer to notice) until they time out.
     */
    void pause() throws Exception {
        signal("STOP");
    }

    /** {@code kill -CONT} after {@link #pause}. */
    void resume() throws Exception {
        signal("CONT");
    }

    private void signal(String name) throws Exception {
        int rc = new ProcessBuilder("kill", "-" + name, Long.toString(child.pid())).inheritIO().start().waitFor();
        if (rc != 0) {
            throw new IllegalStateException("kill -" + name + " " + child.pid() + " exited with " + rc);
        }
    }

    /** Starts the broker again on the same ports and data, and waits until it answers. */
    void restart() throws Exception {
        if (child != null) {
            kill();
        }
        launch();
    }

    boolean isAlive() {
        return child != null && child.isAlive();
    }

    void createTopic(String topic, int partitions) throws Exception {
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(2, TimeUnit.MINUTES);
        }
    }

    Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
        return Admin.create(p);
    }

    /** Producer properties for a forwarder: short timeouts, so that an outage shows within seconds. */
    Properties producerProperties() {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap());
        p.put("delivery.timeout.ms", "6000");
        p.put("request.timeout.ms", "2000");
        p.put("max.block.ms", "3000");
        p.put("reconnect.backoff.max.ms", "500");
        return p;
    }

    private void launch() throws Exception {
        child = ChildJvm.start(BrokerMain.class, List.of("-Xmx512m"), dir.toString(), Integer.toString(brokerPort),
                Integer.toString(controllerPort));
        long deadline = System.nanoTime() + START_LIMIT.toNanos();
        try (Admin admin = admin()) {
            for (;;) {
                if (!child.isAlive()) {
                    throw new AssertionError("the Kafka broker exited while starting; its log:\n" + child.stderr());
                }
                try {
                    if (!admin.describeCluster().nodes().get(10, TimeUnit.SECONDS).isEmpty()) {
                        return;
                    }
                } catch (ExecutionException | java.util.concurrent.TimeoutException notYet) {
                    // not answering yet: ask again
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new AssertionError("the Kafka broker did not answer within " + START_LIMIT + "; its log:\n"
                            + child.stderr());
                }
            }
        }
    }

    String log() {
        return child == null ? "(not running)" : child.stderr();
    }

    @Override
    public void close() {
        if (child != null) {
            child.close();
            child = null;
        }
    }

    private static int[] freePorts(int n) throws IOException {
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0);
                sockets.add(s);
                ports[i] = s.getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket s : sockets) {
                s.close();
            }
        }
    }
}
