package dev.bigqueue.bench.cli;

import dev.bigqueue.BigQueue;
import dev.bigqueue.bench.run.Table;
import dev.bigqueue.internal.Engines;
import dev.bigqueue.internal.RecordLog;
import dev.bigqueue.internal.TimeIndex;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code inspect} shows of the sparse time index: per arena, how many entries are valid (one
 * per 64 KiB of the arena that a record starts in), the offset the first one points at, and the
 * largest timestamp so far at its first and its last entry. An arena with no valid entry (its
 * records all start in 64 KiB ranges whose entries are torn or missing) is still found by a seek,
 * through a longer scan; inspect says so rather than hide it. An arena starting at or past the tail
 * was made ahead of the writer and holds no record yet.
 */
record TimeIndexSummary(long arena, int entries, long firstOffset, Instant from, Instant to, boolean empty) {

    /** The summary of each of {@code arenaIds}, read from the arena headers (no scan of records). */
    static List<TimeIndexSummary> of(BigQueue queue, List<Long> arenaIds) {
        TimeIndex index = Engines.of(queue).reader().timeIndex();
        RecordLog log = Engines.of(queue).log();
        long tail = log.tailPosition();
        List<TimeIndexSummary> out = new ArrayList<>();
        for (long id : arenaIds) {
            List<TimeIndex.Entry> entries;
            try {
                entries = index.entries(id);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the time index of arena " + id + ": " + e.getMessage(), e);
            }
            if (entries.isEmpty()) {
                out.add(new TimeIndexSummary(id, 0, -1, null, null, id * log.dataBytesPerArena() >= tail));
            } else {
                TimeIndex.Entry first = entries.get(0);
                TimeIndex.Entry last = entries.get(entries.size() - 1);
                out.add(new TimeIndexSummary(id, entries.size(), first.offset(),
                        Instant.ofEpochMilli(first.maxTimestamp()), Instant.ofEpochMilli(last.maxTimestamp()), false));
            }
        }
        return out;
    }

    static String toText(List<TimeIndexSummary> summaries) {
        Table table = new Table("arena", ">entries", ">first offset", "max timestamp at first entry .. at last");
        for (TimeIndexSummary s : summaries) {
            table.row(Long.toString(s.arena()), Integer.toString(s.entries()),
                    s.entries() == 0 ? "-" : Long.toString(s.firstOffset()),
                    s.empty() ? "no records yet (made ahead of the writer)"
                            : s.entries() == 0 ? "none valid (a seek scans this arena)" : s.from() + " .. " + s.to());
        }
        return "time index (one entry per 64 KiB of an arena: the first record starting there, and the largest"
                + " timestamp up to it)\n" + table.toText().indent(2);
    }

    String toJson() {
        return "{\"arena\":" + arena + ",\"entries\":" + entries + ",\"firstOffset\":"
                + (entries == 0 ? "null" : Long.toString(firstOffset)) + ",\"from\":"
                + (from == null ? "null" : InspectCommand.quote(from.toString())) + ",\"to\":"
                + (to == null ? "null" : InspectCommand.quote(to.toString())) + "}";
    }
}
