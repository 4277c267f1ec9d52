package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.testing.ChildJvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The first flush of a JVM costs what the next ones cost. It used to make the queue's JDK Flight
 * Recorder event, and the first event class a JVM loads sets up JFR (60–100 ms on a 2-vCPU host):
 * the periodic flush's first run then ended two or three intervals after open with a 50 ms
 * {@code flushInterval}, past what guarantee 3 allows. Now a sync makes its event only once a
 * recording runs. Both sides are checked in a fresh child JVM, where that set-up has not happened
 * yet: without a recording no JFR event class is loaded by open, enqueue and flush; with one, each
 * sync is recorded.
 */
class FirstFlushTest {
    /** Bounds the wait for a child JVM to exit; a busy machine can slow its start a lot. */
    private static final Duration TIMEOUT = Duration.ofMinutes(5);

    @TempDir
    Path dir;

    /** Opens a queue, enqueues and flushes twice, prints FLUSHED and exits. */
    public static final class Child {
        public static void main(String[] args) {
            try (BigQueue q = BigQueue.open(Path.of(args[0]), QueueConfig.builder().flushInterval(Duration.ZERO)
                    .build())) {
                for (int i = 0; i < 2; i++) {
                    q.enqueue(new byte[100]);
                    q.flush();
                }
            }
            System.out.println("FLUSHED");
        }
    }

    @Test
    void withoutARecording_aFlushLoadsNoFlightRecorderEventClass() throws Exception {
        Path classLog = dir.resolve("classes.log");
        try (ChildJvm child = ChildJvm.start(Child.class, List.of("-Xlog:class+load=info:file=" + classLog),
                dir.resolve("q").toString())) {
            assertEquals(0, child.waitFor(TIMEOUT), child.stderr());
            assertTrue(child.lines().contains("FLUSHED"), child.stderr());
        }
        List<String> loaded = Files.readAllLines(classLog);
        assertTrue(loaded.stream().anyMatch(l -> l.contains("dev.bigqueue.internal.Flusher ")),
                "the log names the classes the child loaded");
        assertFalse(loaded.stream().anyMatch(l -> l.contains("jdk.jfr.Event ")
                        || l.contains("dev.bigqueue.internal.SyncEvent ")),
                "a flush set up JDK Flight Recorder although nothing records: "
                        + loaded.stream().filter(l -> l.contains("jdk.jfr")).findFirst().orElse(""));
    }

    @Test
    void withARecording_eachSyncIsAnEvent() throws Exception {
        Path recording = dir.resolve("child.jfr");
        try (ChildJvm child = ChildJvm.start(Child.class,
                List.of("-XX:StartFlightRecording=dumponexit=true,filename=" + recording),
                dir.resolve("q").toString())) {
            assertEquals(0, child.waitFor(TIMEOUT), child.stderr());
        }
        List<RecordedEvent> syncs = RecordingFile.readAllEvents(recording).stream()
                .filter(e -> e.getEventType().getName().equals("dev.bigqueue.Sync")).toList();
        assertTrue(syncs.size() >= 2, "expected an event for each of the two flushes, got " + syncs.size());
        assertTrue(syncs.stream().allMatch(e -> e.getLong("durablePosition") > 0 && e.getLong("bytes") > 0
                && e.getString("directory").endsWith("q")), syncs.toString());
    }
}
