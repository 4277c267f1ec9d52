package dev.bigqueue.internal;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * A JDK Flight Recorder event for each sync of record bytes to disk: how long it took, how many
 * bytes it covered, and the durable point it reached. Made only through {@link SyncEvents}, which
 * leaves JFR alone until something in the JVM starts a recording.
 */
@Name("dev.bigqueue.Sync")
@Label("Queue Sync")
@Category({"bigqueue"})
@Description("Record bytes of a queue written back to disk (msync/fdatasync)")
@StackTrace(false)
final class SyncEvent extends jdk.jfr.Event {
    @Label("Directory")
    String directory;

    @Label("Durable Position")
    @Description("Every record before this stream position is on disk")
    long durablePosition;

    @Label("Bytes")
    @DataAmount
    long bytes;
}
