package dev.bigqueue.internal;

import java.nio.file.Path;

/**
 * The gate in front of {@link SyncEvent}: a sync makes one only while JDK Flight Recorder is
 * initialized in this JVM, that is once something started a recording ({@code
 * -XX:StartFlightRecording}, {@code jcmd JFR.start}, or an in-process {@code Recording} or
 * {@code RecordingStream}, such as bigqueue-metrics' {@code syncLatency}).
 *
 * <p>Why: loading the first class that extends {@code jdk.jfr.Event} sets up JFR's metadata, about
 * a hundred classes and 60–100 ms on the 2-vCPU test host. That was paid by the first sync of the
 * JVM's life, the periodic flush's first run: with a 50 ms {@code flushInterval} the first flush
 * ended 111–206 ms after open, past the two intervals guarantee 3 allows (the LazyFS power-loss
 * run caught it; {@code FirstFlushTest} keeps it out). {@code FlightRecorder.isInitialized()} is a
 * volatile read and sets up nothing.
 *
 * <p>This class names {@link SyncEvent} only in method bodies and signatures, which the JVM
 * resolves when they run: loading this class does not load the event class. Stateless; any thread.
 */
final class SyncEvents {
    /** A runtime image built without the jdk.jfr module has no events to make. */
    private static final boolean JFR_PRESENT = ModuleLayer.boot().findModule("jdk.jfr").isPresent();

    private SyncEvents() {
    }

    /** A begun event if JFR is initialized, else null (then {@link #end} does nothing). */
    static SyncEvent begin() {
        if (!JFR_PRESENT || !jdk.jfr.FlightRecorder.isInitialized()) {
            return null;
        }
        SyncEvent event = new SyncEvent();
        event.begin();
        return event;
    }

    /** Ends {@code event} and commits it if a recording wants it. */
    static void end(SyncEvent event, Path directory, long durablePosition, long bytes) {
        if (event == null) {
            return;
        }
        event.end();
        if (event.shouldCommit()) {
            event.directory = directory.toString();
            event.durablePosition = durablePosition;
            event.bytes = bytes;
            event.commit();
        }
    }
}
