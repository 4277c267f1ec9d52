package dev.bigqueue.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bigqueue forward}: bad options are usage errors (exit 2) that say what was wrong, before
 * anything connects; a directory without a queue is exit 3. Forwarding itself is tested against
 * a real broker in bigqueue-kafka.
 */
class ForwardCommandTest {
    @TempDir
    Path tmp;

    record Result(int exitCode, String out, String err) {
    }

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    private Path queue() {
        Path dir = tmp.resolve("q");
        try (BigQueue q = BigQueue.open(dir)) {
            q.enqueueString("one");
        }
        return dir;
    }

    @Test
    void badBootstrapServer_isAUsageErrorNamingTheFlag() {
        Result r = run("forward", queue().toString(), "--topic", "events", "--bootstrap-server", "kafka-1");
        assertEquals(CliException.USAGE, r.exitCode(), r.err());
        assertTrue(r.err().contains("--bootstrap-server: 'kafka-1' is not HOST:PORT"), r.err());
    }

    @Test
    void producerPropertyThatBreaksTheGuarantees_isAUsageError() throws Exception {
        Path config = tmp.resolve("producer.properties");
        Files.writeString(config, "acks=1\n");
        Result r = run("forward", queue().toString(), "--topic", "events", "--bootstrap-server", "127.0.0.1:9",
                "--producer-config", config.toString());
        assertEquals(CliException.USAGE, r.exitCode(), r.err());
        assertTrue(r.err().contains("acks=1 is not allowed"), r.err());
        Result missing = run("forward", queue().toString(), "--topic", "events", "--bootstrap-server",
                "127.0.0.1:9", "--producer-config", tmp.resolve("nope.properties").toString());
        assertEquals(CliException.USAGE, missing.exitCode(), missing.err());
        assertTrue(missing.err().contains("--producer-config: no such file"), missing.err());
    }

    @Test
    void noQueueThere_isExit3() {
        Result r = run("forward", tmp.resolve("empty").toString(), "--topic", "events", "--bootstrap-server",
                "127.0.0.1:9");
        assertEquals(CliException.NOT_A_QUEUE, r.exitCode(), r.err());
    }
}
