package dev.bigqueue.internal;

import dev.bigqueue.QueueCorruptedException;
import dev.bigqueue.RepairReport;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Makes a damaged queue openable again, giving up exactly the messages it must and saying which:
 * the explicit, never silent, counterpart of the checks that make open refuse damage.
 *
 * <ol>
 *   <li>Every arena file is checked (size, header); a bad one, and any arena beyond a gap, is
 *       taken out of the queue.
 *   <li>If the arena holding the earliest message kept is missing or bad, the queue starts at the
 *       first record of the next good arena: the offsets before it are lost.
 *   <li>Every record from the start on is read and checked (a full scan); the first that fails, or
 *       a gap in the arenas, ends the log: the offsets from there to the old tail are lost. Unless
 *       every consumer has read past the damage: then the log starts at the first record of the next
 *       arena (if no consumer is beyond it) and only offsets every consumer has read are
 *       lost (a damaged position of the queue's own consumer counts as not past it).
 *   <li>Consumers (the queue's own and every named one) before the new start move to it, past the
 *       new tail to it; a consumer file that cannot be read is taken out.
 *   <li>The index gets the new start, tail and durable point, and a clean state.
 * </ol>
 *
 * <p><b>Cut short.</b> Before its first change a repair sets {@code queue.meta}'s state to
 * "repairing" (2, see {@link FileFormat}) and syncs it; its last write, after everything else is on
 * disk, sets "closed cleanly". A repair killed (or stopped by an error) in between leaves state 2,
 * so open refuses the queue, which it would otherwise take by its old tail or durable point, past
 * a log already cut, and append after a zeroed hole. Run again, a repair finishes the work: every
 * step above reads what the files say now, and what the first run did (arenas moved aside, the
 * log cut, consumers moved) is what it would do again, so nothing more is lost. It does not take
 * the recorded tail for the end of the log, only for its report.
 *
 * <p>Nothing is deleted: a file taken out of the queue is moved to a directory beside the queue's
 * ({@code NAME.repair-TIMESTAMP}), and an arena whose end is zeroed is copied there first; each
 * copy and move is on disk (file and directory synced) before the queue stops counting the file,
 * so a power loss during a repair never takes both. The
 * queue must not be open anywhere: the directory lock is taken, and the lock of every named
 * consumer, which is all that a read-only open in another process holds. {@code queue.meta}
 * itself must be readable: its arena size is what every other file is checked against.
 */
final class Repair {
    private final Path dir;
    private final List<String> actions = new ArrayList<>();
    private final List<String> lost = new ArrayList<>();
    private Path aside;

    private Repair(Path dir) {
        this.dir = dir;
    }

    static RepairReport repair(Path dir) throws IOException {
        if (!Files.isRegularFile(dir.resolve(FileFormat.META_FILE))) {
            throw new IllegalArgumentException("cannot repair " + dir.toAbsolutePath() + ": it has no queue.meta (not a"
                    + " queue directory, or its index is lost; a repair needs it for the arena size)");
        }
        try (DirectoryLock lock = DirectoryLock.acquire(dir);
                ConsumerHolds readers = ConsumerHolds.takeAll(lock.directory(), "repair")) {
            Repair r = new Repair(lock.directory());
            r.run();
            return new RepairReport(r.actions, r.lost, r.aside == null ? null : r.aside.toString());
        }
    }

    private void run() throws IOException {
        Index index;
        try {
            index = Index.open(dir.resolve(FileFormat.META_FILE));
        } catch (QueueCorruptedException e) {
            // Not the usual advice, which is to run a repair: this is the repair.
            throw new QueueCorruptedException(e.file(), e.fileOffset(), "repair needs a readable queue.meta, and this"
                    + " one is not (" + e.detail() + ")", "nothing was changed. A repair cannot rebuild queue.meta (it"
                    + " holds the arena size every other file is checked against): restore it from a backup");
        }
        ArenaManager arenas = null;
        try {
            boolean cutShort = index.repairCutShort();
            boolean closedCleanly = index.closedCleanly();
            if (cutShort) {
                actions.add("changed: finished a repair that was cut short (queue.meta said a repair was in progress);"
                        + " anything it had moved aside is in a " + dir.getFileName() + ".repair-* directory beside the"
                        + " queue");
            } else {
                // Before the first change, on disk: from here until the last write below, queue.meta
                // does not describe the log (its tail and durable point may lie past the cut), and
                // open refuses the queue. The tail slot, meaningless unless the queue was closed
                // cleanly, is blanked first, so that in state 2 a valid one is the exact tail a run
                // cut short found (see FileFormat).
                if (!closedCleanly) {
                    index.blankCleanTail();
                }
                index.setState(FileFormat.STATE_REPAIRING);
                index.force();
            }
            pauseAt("begin");
            long arenaSize = index.arenaSize();
            long dataBytes = FileFormat.dataBytes(arenaSize);
            TreeMap<Long, StreamPoint> good = checkArenas(arenaSize);
            // Only for the report, and for the start when nothing else gives one: never as the end.
            StreamPoint cleanTail = closedCleanly || cutShort ? index.cleanTail() : null;
            StreamPoint start = index.startDamaged() ? null : index.start();
            if (start == null) {
                start = firstRecord(good, Long.MIN_VALUE);
                actions.add("changed: the start slot was " + (index.startDamaged() ? "damaged" : "never written")
                        + "; the earliest record found is " + start);
            }
            if (start == null) {
                start = cleanTail != null ? cleanTail : StreamPoint.ZERO;
            }
            long readByAll = readByEveryConsumer(index);
            long startArena;
            long end;
            RecordLog log;
            StreamPoint tail;
            for (;;) {
                startArena = start.position() / dataBytes;
                if (!good.containsKey(startArena) && good.ceilingKey(startArena) != null) {
                    StreamPoint next = firstRecord(good, startArena + 1);
                    String why = FileFormat.arenaFileName(startArena) + ", which holds the earliest message kept, is"
                            + " missing or was taken out";
                    if (next != null) {
                        lost.add("offsets " + start.offset() + ".." + (next.offset() - 1) + " (" + why + ")");
                        start = next;
                        startArena = start.position() / dataBytes;
                        actions.add("changed: the queue now starts at " + start);
                    }
                }
                // The arenas from the start's on, without a gap; everything outside goes aside.
                end = startArena;
                while (good.containsKey(end)) {
                    end++;
                }
                for (Iterator<Map.Entry<Long, StreamPoint>> it = good.entrySet().iterator(); it.hasNext();) {
                    long id = it.next().getKey();
                    if (id < startArena || id >= end) {
                        moveAside(FileFormat.arenaFile(dir, id), id < startArena ? "below the start" : "after a missing"
                                + " arena");
                        it.remove();
                    }
                }
                arenas = new ArenaManager(dir, arenaSize, 0);
                for (long id = startArena; id < end; id++) {
                    arenas.register(id, good.get(id));
                }
                log = new RecordLog(dir, arenaSize, arenas);
                log.setEarliest(start);
                RecordReader reader = new RecordReader(log, null);
                tail = scan(log, reader, start, end * dataBytes);
                // Damage in records every consumer has read: the log need not end there, losing the
                // records no one has read after it. It starts instead at the first record of a later
                // arena, if no consumer is past it; the records from there on are checked again.
                StreamPoint resume = lastDamage == null ? null : firstRecord(good, log.arenaOf(tail.position()) + 1);
                if (resume == null || resume.offset() > readByAll) {
                    break;
                }
                lost.add("offsets " + start.offset() + ".." + (resume.offset() - 1) + " (" + lastDamage
                        + "; every consumer had read them)");
                actions.add("changed: the queue now starts at " + resume + ", after the damage, which every consumer"
                        + " had read past");
                start = resume;
                arenas.close();
                arenas = null;
            }
            String damage = lastDamage;
            // For the report of a run that finishes one cut short, which never gave its own: where
            // the log ended before it, as far as queue.meta still says (the durable point of a
            // queue not closed cleanly, unless the run cut short had written it already).
            StreamPoint knownEnd = cleanTail != null ? cleanTail : cutShort ? index.durable() : null;
            if (damage != null) {
                lost.add("offsets from " + tail.offset() + (cleanTail != null && cleanTail.offset() > tail.offset()
                        ? " to " + (cleanTail.offset() - 1) : " on") + " (" + damage + ")");
            } else if (knownEnd != null && knownEnd.offset() > tail.offset()) {
                // A durable point is not the end of what the log held: records may have followed it.
                lost.add((cleanTail != null ? "offsets " + tail.offset() + ".." + (knownEnd.offset() - 1)
                        : "offsets from " + tail.offset() + " on, at least to " + (knownEnd.offset() - 1))
                        + (cutShort ? " (given up by the repair that was cut short: the log already ended there)"
                        : " (the arena files holding them are missing or were taken out)"));
            }
            if (cleanTail != null && tail.offset() > cleanTail.offset()) {
                actions.add("changed: " + (tail.offset() - cleanTail.offset()) + " whole record(s) follow the recorded"
                        + " tail " + cleanTail + "; they are kept");
            }
            pauseAt("scanned");
            cut(log, tail);
            // The durable point and the clean state written below vouch for every record up to the
            // tail, which may still be only in the page cache (a crash in this boot): on disk first.
            for (long id = startArena; id < end; id++) {
                Path arena = FileFormat.arenaFile(dir, id);
                if (Files.exists(arena)) { // the cut deleted those after the tail's
                    syncFile(arena);
                }
            }
            pauseAt("cut");
            fixPositions(index, start, tail);
            pauseAt("positions");
            // Only what differs is written: a whole queue is left byte for byte as it was (its
            // state back to 1).
            if (!start.equals(index.start())) {
                index.writeStart(start);
            }
            if (!tail.equals(index.durable())) {
                index.writeDurable(tail);
            }
            pauseAt("start-written");
            if (!tail.equals(cleanTail)) {
                index.writeCleanTail(tail);
                pauseAt("tail-written");
                actions.add("changed: recorded the tail " + tail + " and a clean state");
            }
            // Every other change on disk (the index, the directory's removals) before the last
            // write, which lets the queue open again.
            index.force();
            NativeIO.syncDirectory(dir);
            pauseAt("synced");
            index.setState(FileFormat.STATE_CLOSED_CLEANLY);
            index.force();
            actions.add("the queue holds offsets " + start.offset() + ".." + (tail.offset() - 1) + "; tail " + tail);
        } finally {
            if (arenas != null) {
                arenas.close();
            }
            index.close();
        }
    }

    private String lastDamage;

    /** Reads every record from {@code start}, fixing missing first-record slots; returns where the log ends. */
    private StreamPoint scan(RecordLog log, RecordReader reader, StreamPoint start, long limit) {
        Recovery.Scan scan = Recovery.scan(log, reader, start, limit);
        for (long arena : scan.firstRecordsWritten) {
            actions.add("changed: wrote the missing first-record slot of " + FileFormat.arenaFileName(arena));
        }
        lastDamage = scan.damage;
        actions.add("checked " + scan.records + " record(s) from " + start + (scan.damage == null ? ""
                : "; then: " + scan.damage));
        return scan.end;
    }

    /** Cuts the log at the tail: a copy of the tail's arena goes aside first if bytes after it are zeroed. */
    private void cut(RecordLog log, StreamPoint tail) throws IOException {
        ArenaManager arenas = log.arenas();
        long tailArena = log.arenaOf(tail.position());
        for (long id : arenas.ids()) {
            if (id > tailArena) {
                Path file = FileFormat.arenaFile(dir, id);
                // An arena wholly inside a record (none starts in it) holds bytes of the log too, the
                // middle of the damaged record among them; only one never written (made ahead) holds
                // nothing worth keeping.
                if (arenas.firstRecord(id) != null || nonZeroFrom(log, id, log.dataStart())) {
                    copyAside(file, file.getFileName().toString());
                    actions.add("changed: took " + file.getFileName() + " out of the queue (after the end of the log);"
                            + " moved aside");
                }
            }
        }
        if (arenas.exists(tailArena) && nonZeroAfter(log, tail)) {
            Path file = FileFormat.arenaFile(dir, tailArena);
            copyAside(file, file.getFileName() + ".before-cut");
            actions.add("changed: zeroed " + file.getFileName() + " after the end of the log (a copy was moved aside)");
        }
        pauseAt("copied");
        Recovery.cut(log, tail);
    }

    private static boolean nonZeroAfter(RecordLog log, StreamPoint tail) {
        return nonZeroFrom(log, log.arenaOf(tail.position()), log.indexInArena(tail.position()));
    }

    /** Whether arena {@code id} holds a non-zero data byte at or after index {@code from}. */
    private static boolean nonZeroFrom(RecordLog log, long id, int from) {
        Arena a = log.arenas().acquire(id);
        try {
            for (int at = from; at < log.arenaEnd(); at += 8) {
                if (a.buffer().getLong(at) != 0) {
                    return true;
                }
            }
            return false;
        } finally {
            log.arenas().release(a);
        }
    }

    /**
     * The lowest offset a consumer resumes at, counting the queue's own consumer and every named
     * one. A damaged head is unknown: the queue's own consumer may not have read the damaged
     * records, so none may be skipped ({@link Long#MIN_VALUE}). An unreadable consumer file is not
     * counted: repair takes that consumer out (fixPositions), so no one resumes from it.
     */
    private long readByEveryConsumer(Index index) throws IOException {
        if (index.headDamaged()) {
            return Long.MIN_VALUE;
        }
        StreamPoint head = index.head();
        long lowest = head == null ? Long.MIN_VALUE : head.offset();
        Map<String, long[]> named = ConsumerFile.readEach(dir.resolve(FileFormat.CONSUMERS_DIR), (f, problem) -> { });
        for (long[] at : named.values()) {
            lowest = Math.min(lowest, at[0]);
        }
        return lowest;
    }

    /** Every consumer position into [start, tail]; unreadable consumer files aside. */
    private void fixPositions(Index index, StreamPoint start, StreamPoint tail) throws IOException {
        StreamPoint head = index.headDamaged() ? null : index.head();
        StreamPoint fixed = clamp("the queue's own consumer", head, start, tail);
        if (fixed != head) {
            index.commitHead(fixed.offset(), fixed.position());
        }
        Path consumersDir = dir.resolve(FileFormat.CONSUMERS_DIR);
        if (!Files.isDirectory(consumersDir)) {
            return;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(consumersDir, "*" + FileFormat.CONSUMER_SUFFIX)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                name = "consumer '" + name.substring(0, name.length() - FileFormat.CONSUMER_SUFFIX.length()) + "'";
                ConsumerFile file;
                try {
                    file = ConsumerFile.open(f);
                } catch (QueueCorruptedException e) {
                    moveAside(f, "unreadable: " + e.getCause().getMessage() + "; open the consumer again to recreate it"
                            + " at the earliest message");
                    continue;
                }
                try {
                    StreamPoint at = new StreamPoint(file.committedOffset(), file.committedPosition());
                    StreamPoint to = clamp(name, at, start, tail);
                    if (to != at) {
                        file.commit(to.offset(), to.position());
                        // On disk before the clean state: a consumer left past the new tail by a
                        // power loss would skip the messages appended there.
                        file.force();
                    }
                } finally {
                    file.close();
                }
            }
        }
    }

    private StreamPoint clamp(String who, StreamPoint at, StreamPoint start, StreamPoint tail) {
        if (at == null) {
            actions.add("changed: " + who + "'s position was unreadable; it starts at " + start);
            return start;
        }
        if (at.offset() < start.offset()) {
            actions.add("changed: " + who + " was at offset " + at.offset() + ", before the start: it moves to " + start
                    + " and misses " + (start.offset() - at.offset()) + " message(s)");
            return start;
        }
        if (at.offset() > tail.offset() || at.position() > tail.position()) {
            actions.add("changed: " + who + " was at offset " + at.offset() + ", past the end of the log: it moves to "
                    + tail);
            return tail;
        }
        return at;
    }

    /** Checks every arena file; returns the good ones (id to first record), moves the others aside. */
    private TreeMap<Long, StreamPoint> checkArenas(long arenaSize) throws IOException {
        TreeMap<Long, StreamPoint> good = new TreeMap<>();
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                if (FileFormat.arenaIdOf(p.getFileName().toString()) >= 0) {
                    files.add(p);
                }
            }
        }
        long dataBytes = FileFormat.dataBytes(arenaSize);
        for (Path p : files) {
            long id = FileFormat.arenaIdOf(p.getFileName().toString());
            String problem;
            StreamPoint first = null;
            if (Files.isDirectory(p)) {
                problem = "a directory";
            } else {
                ByteBuffer header = ByteBuffer.allocate(FileFormat.ARENA_HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
                long size;
                try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                    while (header.hasRemaining() && ch.read(header, header.position()) > 0) {
                        // keep reading
                    }
                    size = ch.size();
                }
                problem = size != arenaSize ? size + " bytes, not " + arenaSize
                        : ArenaHeader.problem(header, id, arenaSize);
                if (problem == null) {
                    first = ArenaHeader.firstRecord(header);
                    if (first != null && first.position() / dataBytes != id) {
                        first = null; // a first-record slot pointing elsewhere: the scan writes it again
                    }
                }
            }
            if (problem != null) {
                moveAside(p, problem);
            } else {
                good.put(id, first);
            }
        }
        return good;
    }

    /**
     * For the crash test only: pauses at {@code step} if {@code bigqueue.repair.pauseAt} names it.
     * The steps, in order: begin (only the state marked), scanned (arenas checked, some maybe
     * moved aside; before the cut), copied (the copies the cut needs made, nothing cut yet), cut,
     * positions (consumers moved), start-written (start and durable point written), tail-written
     * (the clean tail written), synced (all on disk, the state not yet back to closed cleanly).
     */
    private static void pauseAt(String step) {
        CrashPause.at("bigqueue.repair.pauseAt", step);
    }

    private static StreamPoint firstRecord(TreeMap<Long, StreamPoint> good, long fromId) {
        for (StreamPoint p : good.tailMap(fromId, true).values()) {
            if (p != null) {
                return p;
            }
        }
        return null;
    }

    private void moveAside(Path file, String why) throws IOException {
        Files.move(file, aside().resolve(file.getFileName()));
        // The new name on disk before the index stops counting the file (the old one goes with
        // the queue directory's sync at the end).
        NativeIO.syncDirectory(aside);
        actions.add("changed: took " + file.getFileName() + " out of the queue (" + why + "); moved aside");
    }

    /**
     * Copies {@code file} into the aside directory as {@code name}, on disk before it returns: the
     * cut that follows zeroes bytes of the original, and a power loss must not take both.
     */
    private void copyAside(Path file, String name) throws IOException {
        Path copy = aside().resolve(name);
        Files.copy(file, copy);
        try (FileChannel c = FileChannel.open(copy, StandardOpenOption.WRITE)) {
            c.force(true);
        }
        NativeIO.syncDirectory(aside);
    }

    private static void syncFile(Path file) throws IOException {
        Uninterruptible.run(() -> {
            try (FileChannel c = FileChannel.open(file, StandardOpenOption.READ)) {
                c.force(false);
            }
        });
    }

    private Path aside() throws IOException {
        if (aside == null) {
            String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
            String name = dir.getFileName() + ".repair-" + stamp;
            // A new directory, never one of an earlier repair (a run cut short and run again within
            // the same second): its copies must not collide with the ones already kept there.
            for (int n = 2; aside == null; n++) {
                try {
                    aside = Files.createDirectory(dir.resolveSibling(name));
                } catch (FileAlreadyExistsException e) {
                    name = dir.getFileName() + ".repair-" + stamp + "-" + n;
                }
            }
            NativeIO.syncDirectory(aside.getParent());
        }
        return aside;
    }
}
