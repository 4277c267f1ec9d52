package dev.bigqueue.bench.cli;

import dev.bigqueue.BigQueue;
import dev.bigqueue.bench.run.Table;
import dev.bigqueue.bench.run.Units;
import dev.bigqueue.internal.Cursor;
import dev.bigqueue.internal.Engines;
import dev.bigqueue.internal.MessageCodec;
import dev.bigqueue.internal.RecordReader;
import dev.bigqueue.internal.RefusedWriteBack;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code bigqueue inspect DIR}: what a queue directory holds: arena files and their sizes, the
 * head, tail and earliest offsets, the timestamps of the earliest and the newest message (each read
 * from that one record: no scan), the time index of each arena ({@link TimeIndexSummary}), every
 * named consumer with its position and lag, and disk use.
 * It opens the queue read-only, whether or not another process (its writer) has it open, and
 * changes no file: each named consumer is shown as committed in its file (one open in another
 * process, a {@code consume --follow}, included), and the queue's own consumer (head, size) and the
 * durable point as {@code queue.meta} records them, or not at all while a writer holds the queue.
 * A queue whose last writer died while it had it open (kill -9, a crash), with no writer since, is
 * shown as a reader sees it, every record that verifies: the tail the next writer's open recovers,
 * not a recorded one. The report says that the queue was not closed cleanly, and which messages
 * the writer had not synced (after a restart of the machine there are none: everything shown was
 * read back from the disk).
 * A damaged consumer file is a row of the report, and then the exit code is 1. It fails with 5 if
 * this user may not read the directory and its files.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Show a queue's arenas, offsets, time range (timestamps of the earliest and newest message),"
            + " time index (per arena), consumers (position, lag) and disk use.")
final class InspectCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "DIR", description = "The queue directory.")
    Path dir;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** What inspect reports about one consumer. */
    record ConsumerState(String name, long position, long committed, long lag, String problem) {
    }

    @Override
    public Integer call() {
        QueueDirectory queueDir = new QueueDirectory(dir).requireQueue();
        long arenaSize = queueDir.readArenaSize();
        List<ConsumerState> consumers = new ArrayList<>();
        long earliest;
        long head;
        long tail;
        long size;
        long durable;
        boolean live;
        RecordedState.Meta meta = null;
        Instant earliestTime = null;
        Instant latestTime = null;
        List<QueueDirectory.ArenaFile> arenas;
        List<TimeIndexSummary> timeIndex;
        OptionalLong refused;
        try {
            refused = RefusedWriteBack.recordedOffset(queueDir.path());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // Read-only whoever holds the queue: an owner's open would rewrite queue.meta and every consumer
        // file, could make an arena ahead, and would fail on a consumer another process has open.
        long writerPid = RecordedState.writerPid(queueDir.path());
        live = writerPid > 0;
        try (BigQueue queue = queueDir.openReadOnly()) {
            earliest = queue.earliestOffset();
            tail = queue.tailOffset();
            if (earliest < tail) {
                earliestTime = timestampAt(queue, earliest);
                latestTime = timestampAt(queue, tail - 1);
            }
            arenas = queueDir.arenas();
            timeIndex = TimeIndexSummary.of(queue, arenas.stream().map(QueueDirectory.ArenaFile::id).toList());
        }
        if (live) {
            // The writer moves the queue's own consumer and the durable point on: only it knows them.
            head = -1;
            size = -1;
            durable = -1;
        } else {
            meta = RecordedState.read(queueDir.path());
            head = Math.max(meta.head(), earliest);
            size = Math.max(0, tail - head);
            // After a writer died while open, tail is what verifies past its last flush (the read-only open
            // checks every record from there), not a recorded point. Read back after a restart, those
            // records came from the disk: durable. Otherwise the last flush's point stands.
            durable = !meta.closedCleanly() && meta.rebooted() ? tail
                    : Math.min(Math.max(meta.durable(), earliest), tail);
        }
        Collection<PersistedConsumers.Entry> consumerFiles = PersistedConsumers.readEach(queueDir.path()).values();
        for (PersistedConsumers.Entry c : consumerFiles) {
            long lag = c.problem() != null ? -1 : Math.max(0, tail - c.committed());
            consumers.add(new ConsumerState(c.name(), c.committed(), c.committed(), lag, c.problem()));
        }
        long arenaBytes = arenas.stream().mapToLong(QueueDirectory.ArenaFile::bytes).sum();
        long diskBytes = queueDir.diskBytes();
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(toJson(queueDir.path(), arenaSize, arenas, arenaBytes, diskBytes, earliest, head, tail, durable,
                    meta, size, earliestTime, latestTime, consumers, timeIndex, refused));
            PersistedConsumers.failIfDamaged(queueDir.path(), consumerFiles);
            return 0;
        }
        out.println("queue      " + queueDir.path());
        out.println("arena size " + Units.bytes(arenaSize) + " (" + Units.count(arenaSize) + " bytes), preallocated:"
                + " each arena file takes this much on disk however little it holds");
        out.println("arenas     " + arenas.size() + (arenas.isEmpty() ? "" : " (ids " + arenas.get(0).id() + ".."
                + arenas.get(arenas.size() - 1).id() + ")") + ", " + Units.bytesApprox(arenaBytes));
        out.println("disk use   " + Units.bytesApprox(diskBytes) + " in all (" + Units.count(diskBytes) + " bytes)");
        if (live) {
            out.println("writer     another process (pid " + writerPid + ") has the queue open; read beside it"
                    + " (read-only), as of now");
            out.println("offsets    earliest " + earliest + ", tail " + tail + " (the head is the writer's)");
            out.println("messages   " + Units.count(tail - earliest) + " on disk");
            out.println(timeLine(earliestTime, latestTime));
        } else {
            if (!meta.closedCleanly()) {
                out.println("writer     none, but the last one did not close the queue (it was killed or crashed"
                        + (meta.rebooted() ? ", and the machine has restarted since" : "") + "): shown as a reader"
                        + " sees it, every message that verifies; the next open that writes it (produce, consume, gc,"
                        + " the application) recovers it");
            }
            out.println("offsets    earliest " + earliest + ", head " + head + ", tail " + tail + ", durable below "
                    + durable);
            if (!meta.closedCleanly() && meta.rebooted()) {
                out.println("           every message shown was read back from the disk after the restart: all are"
                        + " durable");
            } else if (!meta.closedCleanly() && durable < tail) {
                out.println("           the writer stopped before it synced messages " + durable + ".." + (tail - 1)
                        + ": they are written (in the page cache), but a power loss before the kernel writes them"
                        + " back loses them; the next open that writes the queue syncs them");
            }
            out.println("messages   " + Units.count(tail - earliest) + " on disk, " + Units.count(size)
                    + " not yet dequeued by the queue's own consumer");
            out.println(timeLine(earliestTime, latestTime));
        }
        if (refused.isPresent()) {
            out.println("write-back " + (live
                    ? "FAILED in the writer's open: the disk refused records from offset " + refused.getAsLong()
                            + " on, so none of them can be made durable in that open; check the disk (dmesg), then"
                            + " restart the writer: its next open rewrites them into new files"
                    : "an earlier open's disk refused records from offset " + refused.getAsLong() + " on; the next"
                            + " open that writes the queue (produce, gc, the application) rewrites them into new"
                            + " files"));
        }
        out.println("consumers  " + consumers.size());
        if (!live && !consumers.isEmpty() && head < tail && consumers.stream().allMatch(c -> c.committed() > head)) {
            out.println("           the queue's own consumer (head " + head + ", read by BigQueue.dequeue) is behind"
                    + " every named one and holds their arenas on disk; if no application reads it: bigqueue gc "
                    + queueDir.path() + " --ignore-own-consumer");
        }
        if (!consumers.isEmpty()) {
            Table table = new Table("name", ">position", ">committed", ">lag");
            for (ConsumerState c : consumers) {
                if (c.problem() != null) {
                    table.row(c.name(), "damaged", "damaged", "?");
                } else {
                    table.row(c.name(), Long.toString(c.position()), Long.toString(c.committed()),
                            Units.count(c.lag()));
                }
            }
            out.print(table.toText().indent(2));
        }
        if (!arenas.isEmpty()) {
            out.println("arena files");
            Table table = new Table("id", "file", ">bytes");
            for (QueueDirectory.ArenaFile arena : arenas) {
                table.row(Long.toString(arena.id()), arena.file().getFileName().toString(), Units.count(arena.bytes()));
            }
            out.print(table.toText().indent(2));
            out.print(TimeIndexSummary.toText(timeIndex));
        }
        PersistedConsumers.failIfDamaged(queueDir.path(), consumerFiles);
        return 0;
    }

    private static String toJson(Path dir, long arenaSize, List<QueueDirectory.ArenaFile> arenas, long arenaBytes,
                                 long diskBytes, long earliest, long head, long tail, long durable,
                                 RecordedState.Meta meta, long size,
                                 Instant earliestTime, Instant latestTime, List<ConsumerState> consumers,
                                 List<TimeIndexSummary> timeIndex, OptionalLong refused) {
        StringBuilder out = new StringBuilder("{");
        out.append("\"directory\":").append(quote(dir.toString()));
        out.append(",\"arenaSize\":").append(arenaSize);
        out.append(",\"earliestOffset\":").append(earliest);
        out.append(",\"headOffset\":").append(head < 0 ? "null" : Long.toString(head));
        out.append(",\"tailOffset\":").append(tail);
        out.append(",\"durableOffset\":").append(durable < 0 ? "null" : Long.toString(durable));
        out.append(",\"closedCleanly\":").append(meta == null ? "null" : Boolean.toString(meta.closedCleanly()));
        out.append(",\"writeBackRefusedFrom\":").append(refused.isPresent() ? Long.toString(refused.getAsLong())
                : "null");
        out.append(",\"size\":").append(size < 0 ? "null" : Long.toString(size));
        out.append(",\"earliestTimestamp\":").append(earliestTime == null ? "null" : quote(earliestTime.toString()));
        out.append(",\"latestTimestamp\":").append(latestTime == null ? "null" : quote(latestTime.toString()));
        out.append(",\"arenaBytes\":").append(arenaBytes);
        out.append(",\"diskBytes\":").append(diskBytes);
        out.append(",\"arenas\":[");
        for (int i = 0; i < arenas.size(); i++) {
            QueueDirectory.ArenaFile arena = arenas.get(i);
            out.append(i == 0 ? "" : ",").append("{\"id\":").append(arena.id()).append(",\"file\":")
                    .append(quote(arena.file().getFileName().toString())).append(",\"bytes\":").append(arena.bytes())
                    .append('}');
        }
        out.append("],\"consumers\":[");
        for (int i = 0; i < consumers.size(); i++) {
            ConsumerState c = consumers.get(i);
            out.append(i == 0 ? "" : ",").append("{\"name\":").append(quote(c.name()));
            if (c.problem() != null) {
                out.append(",\"position\":null,\"committedPosition\":null,\"lag\":null,\"damaged\":")
                        .append(quote(c.problem())).append('}');
            } else {
                out.append(",\"position\":").append(c.position()).append(",\"committedPosition\":")
                        .append(c.committed()).append(",\"lag\":").append(c.lag()).append('}');
            }
        }
        out.append("],\"timeIndex\":[");
        for (int i = 0; i < timeIndex.size(); i++) {
            out.append(i == 0 ? "" : ",").append(timeIndex.get(i).toJson());
        }
        return out.append("]}").toString();
    }

    private static String timeLine(Instant earliestTime, Instant latestTime) {
        return earliestTime == null ? "time range none (no messages)"
                : "time range " + earliestTime + " (earliest message) .. " + latestTime + " (newest message)";
    }

    /**
     * The timestamp of the message at {@code offset}, read from that one record (its position is found
     * through the arena's sparse index); null if it went (collected) meanwhile.
     */
    private static Instant timestampAt(BigQueue queue, long offset) {
        RecordReader reader = Engines.of(queue).reader();
        Cursor cursor = new Cursor();
        try {
            cursor.moveTo(offset, reader.positionOf(offset));
        } catch (IllegalArgumentException e) {
            return null;
        }
        return reader.read(cursor, false) == null ? null : Instant.ofEpochMilli(MessageCodec.millisOf(cursor.stamp()));
    }

    static String quote(String text) {
        StringBuilder out = new StringBuilder("\"");
        for (char ch : text.toCharArray()) {
            switch (ch) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (ch < 0x20) {
                        out.append(String.format("\\u%04x", (int) ch));
                    } else {
                        out.append(ch);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
