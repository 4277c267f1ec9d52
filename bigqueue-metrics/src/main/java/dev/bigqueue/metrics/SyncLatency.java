package dev.bigqueue.metrics;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingStream;

/**
 * The core's JDK Flight Recorder event {@code dev.bigqueue.Sync} (one per sync of record bytes to
 * disk, with the queue directory, the bytes it covered and its duration) fed into a {@link Timer}
 * and a {@link DistributionSummary} of bytes, through an in-process {@link RecordingStream}.
 *
 * <p>Where it stops: the stream is a JFR recording in this JVM (with only this event enabled, but
 * still a thread and a repository directory under {@code java.io.tmpdir}), which is why
 * {@link QueueMetrics} leaves it off unless asked. JFR hands events over about once a second, so
 * the timer trails the syncs by that much. Only syncs of this queue's directory are counted; every
 * bound queue with sync latency on runs its own stream.
 */
final class SyncLatency implements AutoCloseable {
    /** The core's event name (bigqueue-core, {@code dev.bigqueue.internal.SyncEvent}). */
    static final String EVENT = "dev.bigqueue.Sync";

    private final RecordingStream stream;

    private SyncLatency(RecordingStream stream) {
        this.stream = stream;
    }

    /** Starts a stream that records every sync of {@code directory} into {@code timer} and {@code bytes}. */
    static SyncLatency start(String directory, Timer timer, DistributionSummary bytes) {
        RecordingStream stream = new RecordingStream();
        try {
            // Every sync, however short: the timer's count is the number of syncs.
            stream.enable(EVENT).withThreshold(Duration.ZERO).withoutStackTrace();
            stream.onEvent(EVENT, event -> record(event, directory, timer, bytes));
            stream.startAsync();
            return new SyncLatency(stream);
        } catch (RuntimeException e) {
            stream.close();
            throw e;
        }
    }

    private static void record(RecordedEvent event, String directory, Timer timer, DistributionSummary bytes) {
        if (directory.equals(event.getString("directory"))) {
            timer.record(event.getDuration());
            bytes.record(event.getLong("bytes"));
        }
    }

    /** Stops the recording; the timer keeps what it has. */
    @Override
    public void close() {
        stream.close();
    }
}
