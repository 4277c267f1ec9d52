package dev.bigqueue.consumer;

import dev.bigqueue.BigQueue;
import dev.bigqueue.Message;
import dev.bigqueue.QueueCorruptedException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a {@link LatestValues} store starts: the map of the newest snapshot that passes its checks
 * and whose records after it are all still in the queue, or the empty map at the store's origin
 * (a full replay), or, for a new store, the empty map at {@code earliestOffset()}. Never a map that
 * would miss a record: when neither is possible it throws and says what it found. Damaged snapshots,
 * those past the queue's tail and those whose record below their offset is not this queue's
 * ({@link RecordMark}) are renamed {@code .bad}; those below its earliest offset are left for the
 * next checkpoint to delete.
 *
 * <p>Threads: used by {@code open} only, on the caller's thread.
 *
 * @param offset where the replay starts.
 * @param map the map of every record below it.
 * @param began whether the store begins here, in this choice: a new store, whose origin file it wrote.
 */
record StartPoint(long offset, ValueMap map, boolean began) {
    private static final Logger LOG = LoggerFactory.getLogger(StartPoint.class);

    /**
     * Chooses; {@code probe} (the follower's consumer, seeked again by the caller afterwards) reads
     * the record below a snapshot's offset, which the snapshot names.
     */
    static StartPoint choose(BigQueue queue, Snapshots snapshots, boolean holdExisted, String holdName,
            Consumer probe) throws IOException {
        int unfinished = snapshots.deleteUnfinished();
        if (unfinished > 0) {
            LOG.info("LatestValues: deleted {} unfinished snapshot file(s) (.tmp) of a checkpoint cut short in {}",
                    unfinished, snapshots.directory());
        }
        List<String> problems = new ArrayList<>();
        List<Path> files = snapshots.list();
        for (Path file : files) {
            long offset = snapshots.offsetOf(file);
            long earliest = queue.earliestOffset();
            if (offset < earliest) {
                problems.add(file.getFileName() + ": the queue no longer holds the records from its offset " + offset
                        + " (earliest " + earliest + ")");
                continue;
            }
            if (offset > queue.tailOffset()) {
                // The queue lost its tail (or its files were restored): once it grows past this offset
                // again, with other records, the snapshot would hold values they never had.
                String why = "its offset " + offset + " is past the queue's tail " + queue.tailOffset()
                        + " (the tail was lost after it was written, or it is another queue's)";
                snapshots.setAside(file, why);
                problems.add(file.getFileName() + ": " + why);
                continue;
            }
            try {
                long t0 = System.nanoTime();
                Snapshots.Loaded loaded = snapshots.read(file, offset);
                String foreign = foreign(queue, probe, loaded.below());
                if (foreign != null) {
                    snapshots.setAside(file, foreign);
                    problems.add(file.getFileName() + ": " + foreign);
                    continue;
                }
                if (!problems.isEmpty()) {
                    LOG.warn("LatestValues: fell back to snapshot {} after: {}", file, problems);
                }
                LOG.info("LatestValues: loaded {} ({} entries) in {} ms", file, loaded.entries(),
                        (System.nanoTime() - t0) / 1_000_000);
                return new StartPoint(loaded.offset(), loaded.map(), false);
            } catch (Snapshots.BadSnapshotException e) {
                snapshots.setAside(file, e.getMessage());
                problems.add(e.getMessage());
            }
        }
        Path origin = snapshots.origin();
        if (Files.exists(origin)) {
            try {
                Snapshots.Loaded o = snapshots.read(origin, -1);
                long earliest = queue.earliestOffset();
                if (o.offset() >= earliest && o.offset() <= queue.tailOffset()) {
                    if (!problems.isEmpty()) {
                        LOG.warn("LatestValues: no usable snapshot in {} ({}); replaying the whole history from offset"
                                + " {}", snapshots.directory(), problems, o.offset());
                    }
                    return new StartPoint(o.offset(), o.map(), false);
                }
                problems.add("full replay impossible: the store began at offset " + o.offset() + " but the queue's"
                        + " earliest record is " + earliest);
            } catch (Snapshots.BadSnapshotException e) {
                problems.add(e.getMessage());
            }
        } else if (files.isEmpty() && !holdExisted) {
            long start = queue.earliestOffset();
            snapshots.write(origin, start, null, new ValueMap(16), () -> { });
            return new StartPoint(start, new ValueMap(1024), true);
        } else {
            problems.add(origin.getFileName() + " (where the store began) is missing"
                    + (holdExisted ? " though its consumer '" + holdName + "' exists" : ""));
        }
        throw new IllegalStateException("LatestValues cannot load store '" + holdName.substring("latest.".length())
                + "' of " + queue.directory() + ": no snapshot"
                + " can be used and a full replay would miss records, so any map would be wrong. Found: " + problems
                + ". To start again from what the queue holds (a map that misses the collected records), delete the"
                + " store's files in " + snapshots.directory() + " and its consumers '" + holdName + "' and"
                + " 'latest-follow." + holdName.substring("latest.".length()) + "' (Consumers.delete)");
    }

    /**
     * Why the snapshot that names {@code below} was not written for this queue (the queue's record
     * at that offset differs), or null if it may have been. A snapshot that names no record
     * (version 1), or whose record the queue no longer holds or cannot read, cannot be told apart
     * and loads.
     */
    private static String foreign(BigQueue queue, Consumer probe, RecordMark below) {
        if (below == null || below.offset() < queue.earliestOffset()) {
            return null;
        }
        Message m;
        try {
            probe.seek(below.offset());
            m = probe.peekMessage();
        } catch (IllegalArgumentException | QueueCorruptedException unreadable) {
            // Collected meanwhile, or damaged: the replay starts after it, so the store needs it no more
            // than before this check existed.
            return null;
        }
        if (m == null || m.offset() != below.offset()) {
            return null;
        }
        RecordMark here = RecordMark.of(m);
        if (below.matches(here)) {
            return null;
        }
        return "it was written after " + below + ", but this queue holds " + here + " (another queue's snapshot?)";
    }
}
