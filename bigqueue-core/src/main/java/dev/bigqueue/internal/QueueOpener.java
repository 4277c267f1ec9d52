package dev.bigqueue.internal;

import dev.bigqueue.QueueConfig;
import dev.bigqueue.QueueCorruptedException;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opening a queue directory, in three phases, so that a failed open leaves nothing behind.
 *
 * <ol>
 *   <li><b>Take the directory.</b> The directory lock comes first, before anything in the directory
 *       is looked at or created: of two opens racing on a directory, new or not, one goes on and the
 *       other fails at once naming the holder's pid.
 *   <li><b>Check, changing nothing.</b> That no repair was cut short (state 2: then no field of
 *       {@code queue.meta} describes the log), every field of {@code queue.meta} it will trust, every arena
 *       file (size, header, place in the sequence), that the files the index needs are all there,
 *       that nothing past a clean tail holds records, and that the queue's own consumer is not before
 *       the earliest message kept unless a drop by rule explains it.
 *   <li><b>Apply.</b> Delete what a crash left (arenas below the start, temporary files), recover the
 *       tail of an unclean queue (which cuts and zeroes what was never whole), mark the queue open,
 *       build the engine, make a recovered state durable, and start the background threads last.
 * </ol>
 *
 * <p>If anything fails, every mapping is released, the lock too, a clean queue is marked clean
 * again, and a {@code queue.meta} this open created is deleted; no thread was started. Files are
 * changed by a failed open only when the failure is an I/O error in phase 3, and then each change
 * made is itself a valid step of recovery. {@code queue.lock} is created if missing and never
 * deleted (see {@link DirectoryLock}).
 */
final class QueueOpener {
    private static final Logger LOG = LoggerFactory.getLogger(QueueOpener.class);

    private final DirectoryLock lock;
    private final Path dir;
    private QueueConfig config;
    private Index index;
    private boolean createdMeta;
    private ArenaManager arenas;
    private boolean markedOpen;
    private boolean wasClean;
    private QueueEngine engine;

    private QueueOpener(DirectoryLock lock, QueueConfig config) {
        this.lock = lock;
        this.dir = lock.directory();
        this.config = config;
    }

    static QueueEngine open(Path dir, QueueConfig config) throws IOException {
        if (config.readOnly()) {
            return openReadOnly(dir, config);
        }
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IllegalArgumentException("queue path " + dir.toAbsolutePath() + " is a file, not a directory;"
                    + " give BigQueue.open a directory (it is created if missing)");
        }
        DurableFiles.createDirectories(dir);
        DirectoryLock lock = DirectoryLock.acquire(dir);
        QueueOpener opener = new QueueOpener(lock, config);
        try {
            return opener.run();
        } catch (IOException | RuntimeException | Error e) {
            opener.undo(e);
            throw e;
        }
    }

    private QueueEngine run() throws IOException {
        Path metaFile = dir.resolve(FileFormat.META_FILE);
        if (Files.exists(metaFile)) {
            index = Index.open(metaFile);
            if (index.repairCutShort()) {
                // Its tail and durable point may lie past the log the repair already cut.
                throw index.repairCutShortError();
            }
        } else {
            checkEmptyForCreate();
            index = Index.create(dir, config.arenaSize());
            createdMeta = true;
        }
        long arenaSize = index.arenaSize();
        if (arenaSize != config.arenaSize()) {
            if (config.isArenaSizeSet()) {
                throw new IllegalArgumentException("queue " + dir + " was created with arenaSize " + arenaSize
                        + " bytes, but this open asks for arenaSize " + config.arenaSize() + " bytes; arenaSize"
                        + " is fixed when a queue is created: open it with arenaSize " + arenaSize
                        + " or leave arenaSize unset");
            }
            try {
                config = config.toBuilder().arenaSize(arenaSize).build();
            } catch (IllegalArgumentException e) {
                // An option checked against the arena size (maxDiskBytes) passed build() against the
                // default size, and not against the queue's.
                throw new IllegalArgumentException("queue " + dir + " was created with arenaSize " + arenaSize
                        + " bytes, which this open takes as it leaves arenaSize unset; with it, " + e.getMessage(), e);
            }
        }

        // Phase 2: check everything that will be trusted, changing nothing.
        checkSlots(metaFile);
        ArenaScan scan = ArenaScan.of(dir, arenaSize);
        StreamPoint cleanTail = index.closedCleanly() ? index.cleanTail() : null;
        boolean clean = cleanTail != null;
        StreamPoint durable = index.durable();
        StreamPoint start = index.start();
        boolean legacyStart = start == null;
        if (legacyStart) {
            start = firstOf(scan.legacyStart(), cleanTail, durable, StreamPoint.ZERO);
        }
        if (clean && start.position() > cleanTail.position()) {
            throw new QueueCorruptedException(metaFile, FileFormat.META_START_SLOTS, "queue.meta says the earliest"
                    + " message kept is " + start + ", after its tail " + cleanTail);
        }
        long mustExist = clean ? cleanTail.position()
                : Math.max(start.position(), durable == null ? 0 : durable.position());
        scan.checkHolds(start, mustExist, clean ? "the last clean close recorded its tail there"
                : "a flush recorded them as durable");
        if (clean) {
            scan.checkNothingAfter(cleanTail);
        }
        StreamPoint dropped = index.dropped();
        StreamPoint head = index.head();
        long dataBytes = FileFormat.dataBytes(arenaSize);
        if (config.ownConsumer() && head != null && head.position() < start.position()
                && (dropped == null || head.position() >= dropped.position())) {
            throw new QueueCorruptedException(FileFormat.arenaFile(dir, head.position() / dataBytes), 0, "the queue's"
                    + " own consumer is committed at " + head + ", but the earliest message kept is " + start + " and"
                    + " no rule dropped the ones between: the arena file holding them is missing or was deleted by"
                    + " hand");
        }

        // Phase 3: build and apply. First, if an earlier open's write-back failed, its records get
        // new blocks (the copies have the same bytes, so a failure midway leaves a valid queue).
        RefusedWriteBack.rewrite(dir, arenaSize, scan);
        long startArena = start.position() / dataBytes;
        arenas = new ArenaManager(dir, arenaSize, config.maxInMemoryArenas());
        scan.registerFrom(startArena, arenas);
        RecordLog log = new RecordLog(dir, arenaSize, arenas);
        log.setEarliest(start);
        log.setDropped(dropped);
        DiskSpace diskSpace = new DiskSpace(arenaSize, config.maxDiskBytes(), config.whenFull());
        Appender appender = new Appender(log, diskSpace);
        RecordReader reader = new RecordReader(log, appender);

        scan.deleteLeftovers(startArena);
        ArenaPool pool = ArenaPool.open(dir, arenaSize, config.arenaPool(), scan.poolFiles());
        if (config.maxDiskBytes() > 0) {
            // Capped before the cast: a cap of ~2^31 arenas or more (Long.MAX_VALUE for "unbounded") would wrap.
            pool.trimTo((int) Math.min(Integer.MAX_VALUE,
                    Math.max(0, config.maxDiskBytes() / arenaSize - arenas.arenaFileCount())));
        }
        arenas.setPool(config.arenaPool() > 0 ? pool : null);
        if (legacyStart) {
            index.writeStart(start);
        }
        if (head == null || (!config.ownConsumer() && head.position() < start.position())) {
            // Never written, or off: then the slot follows the start (GarbageCollector).
            index.commitHead(start.offset(), start.position());
        }
        boolean sameBoot = index.sameBoot();
        allocateHolesFrom(arenas, log, clean ? cleanTail : durable != null ? durable : start);
        StreamPoint tail;
        if (clean) {
            tail = cleanTail;
        } else {
            tail = Recovery.recover(log, reader, start, durable, !sameBoot);
            clampConsumers(tail);
        }
        // The largest timestamp so far, for the time index: from its last entry and what follows it.
        appender.initTail(tail, reader.timeIndex().maxTimestamp(log.earliest(), tail));
        wasClean = clean;
        markedOpen = true;
        index.setState(FileFormat.STATE_OPEN);
        index.recordBoot();
        // On disk before any write: a power loss from here on must not look like a clean close.
        index.force();

        QueueEngine.Parts parts = new QueueEngine.Parts();
        parts.dir = dir;
        parts.config = config;
        parts.lock = lock;
        parts.index = index;
        parts.arenas = arenas;
        parts.log = log;
        parts.appender = appender;
        parts.reader = reader;
        parts.diskSpace = diskSpace;
        parts.durablePoint = clean ? tail
                : durable != null && durable.position() >= start.position() ? durable : start;
        engine = new QueueEngine(parts);
        if (!clean) {
            // What recovery found is durable before anything new is written on top of it.
            engine.flusher().flush();
        }
        lock.writePid();
        engine.start();
        return engine;
    }

    /**
     * Opens a queue read-only, beside its one writer in another process or with none: no lock, no
     * file created or changed, no recovery (it could not write its result), no thread. The tail is
     * whatever verifies: from the durable point (or the exact tail of a clean close), every record
     * is checked by its checksum and the first that fails ends what this open shows, for now (see
     * {@link TailFollower}). Arena files are found as they are needed, so arenas the writer
     * creates or deletes meanwhile need no care here.
     */
    static QueueEngine openReadOnly(Path dir, QueueConfig asked) throws IOException {
        Path metaFile = dir.resolve(FileFormat.META_FILE);
        if (!Files.isDirectory(dir) || !Files.exists(metaFile)) {
            throw new IllegalArgumentException("no queue in " + dir.toAbsolutePath() + " (" + (Files.isDirectory(dir)
                    ? "it has no " + FileFormat.META_FILE : "no such directory") + "): a read-only open"
                    + " (readOnly=true) reads an existing queue and never creates one; open it once without"
                    + " readOnly to create it, or check the path");
        }
        Index index = Index.open(metaFile, true);
        ArenaManager arenas = null;
        try {
            if (index.repairCutShort()) {
                throw index.repairCutShortError();
            }
            long arenaSize = index.arenaSize();
            if (asked.isArenaSizeSet() && arenaSize != asked.arenaSize()) {
                throw new IllegalArgumentException("queue " + dir + " was created with arenaSize " + arenaSize
                        + " bytes, but this read-only open asks for arenaSize " + asked.arenaSize() + " bytes;"
                        + " leave arenaSize unset (a read-only open takes the queue's)");
            }
            if (index.startDamaged()) {
                throw new QueueCorruptedException(metaFile, FileFormat.META_START_SLOTS, "queue.meta is damaged:"
                        + " both slots of the start (the earliest message kept) fail their check");
            }
            // What only a writer does is off: no flush, collection, disk cap or pretouch thread.
            QueueConfig config = asked.toBuilder().arenaSize(arenaSize).flushEveryOps(0).flushInterval(
                    java.time.Duration.ZERO).syncOnWrite(false).gcInterval(java.time.Duration.ZERO).maxDiskBytes(0)
                    .pretouch(false).build();
            StreamPoint start = index.start();
            if (start == null) {
                start = StreamPoint.ZERO; // a queue made before the slot existed: reads show what verifies
            }
            StreamPoint from = start;
            StreamPoint durable = index.durable();
            if (durable != null && durable.position() > from.position()) {
                from = durable;
            }
            StreamPoint cleanTail = index.closedCleanly() ? index.cleanTail() : null;
            if (cleanTail != null && cleanTail.position() > from.position()) {
                from = cleanTail;
            }
            arenas = new ArenaManager(dir, arenaSize, config.maxInMemoryArenas(), true);
            RecordLog log = new RecordLog(dir, arenaSize, arenas);
            log.setEarliest(start);
            log.setDropped(index.dropped());
            TailFollower follower = new TailFollower(log, index, from);
            log.setFollower(follower);
            RecordReader reader = new RecordReader(log, null);
            follower.advance();

            QueueEngine.Parts parts = new QueueEngine.Parts();
            parts.dir = dir;
            parts.config = config;
            parts.index = index;
            parts.arenas = arenas;
            parts.log = log;
            parts.reader = reader;
            parts.diskSpace = new DiskSpace(arenaSize, 0, config.whenFull());
            parts.durablePoint = from;
            parts.follower = follower;
            return new QueueEngine(parts);
        } catch (RuntimeException | Error e) {
            if (arenas != null) {
                QueueEngine.attempt(new ArrayList<>(), arenas::close);
            }
            index.close();
            throw e;
        }
    }

    private static StreamPoint firstOf(StreamPoint... candidates) {
        for (StreamPoint p : candidates) {
            if (p != null) {
                return p;
            }
        }
        throw new IllegalArgumentException("no candidate");
    }

    /** Slot pairs that are neither valid nor blank are damage: say which, before trusting any. */
    private void checkSlots(Path metaFile) {
        if (index.startDamaged()) {
            throw new QueueCorruptedException(metaFile, FileFormat.META_START_SLOTS, "queue.meta is damaged: both"
                    + " slots of the start (the earliest message kept) fail their check");
        }
        if (index.droppedDamaged()) {
            throw new QueueCorruptedException(metaFile, FileFormat.META_DROPPED_SLOTS, "queue.meta is damaged: both"
                    + " slots of the drop mark fail their check");
        }
        if (config.ownConsumer() && index.headDamaged()) {
            throw new QueueCorruptedException(metaFile, FileFormat.META_HEAD_SLOTS, "queue.meta is damaged: both"
                    + " slots of the queue's own consumer position fail their check");
        }
    }

    /**
     * Allocates any hole in the arenas the writer may write to from here on (from the arena of
     * {@code from}: recovery's cut and the appends after it): each was reserved when it was made,
     * but a sparse copy of the directory has holes, and a mapped write into one on a full disk
     * crashes the JVM. Blocks already there cost nothing; on a full disk the open fails, naming
     * the file, before anything is written.
     */
    private static void allocateHolesFrom(ArenaManager arenas, RecordLog log, StreamPoint from) throws IOException {
        long first = log.arenaOf(from.position());
        for (long id : arenas.ids()) {
            if (id >= first) {
                Path file = FileFormat.arenaFile(log.directory(), id);
                try {
                    NativeIO.allocateHoles(file, log.arenaSize());
                } catch (IOException e) {
                    throw new IOException(e.getMessage() + "; the writer would crash the JVM writing there: free"
                            + " disk space and open again, or open with readOnly(true) to read the queue", e);
                }
            }
        }
    }

    /**
     * After an OS crash a named consumer's committed position can have reached the disk while
     * records it had passed did not: such a consumer resumes at the recovered tail, where the next
     * message written will be. (The queue's own consumer is clamped by {@link ConsumerState}.)
     */
    private void clampConsumers(StreamPoint tail) throws IOException {
        // One damaged file must not keep the others where they are: a consumer left past the tail
        // would skip the messages appended there from now on.
        Map<String, long[]> all = ConsumerFile.readEach(dir.resolve(FileFormat.CONSUMERS_DIR), (f, problem) ->
                LOG.warn("queue {}: consumer file {} cannot be read ({}), so it was not checked against the recovered"
                        + " tail; opening that consumer reports the damage", dir, f.getFileName(), problem));
        for (Map.Entry<String, long[]> c : all.entrySet()) {
            long[] at = c.getValue();
            if (at[0] > tail.offset() || at[1] > tail.position()) {
                LOG.warn("queue {}: consumer '{}' was committed at offset {}, past the recovered tail {}: those"
                        + " records did not survive an OS crash or power loss; it resumes at the tail", dir,
                        c.getKey(), at[0], tail.offset());
                try (ConsumerFile f = ConsumerFile.open(FileFormat.consumerFile(dir, c.getKey()))) {
                    f.commit(tail.offset(), tail.position());
                    f.force();
                }
            }
        }
    }

    private void checkEmptyForCreate() throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                if (name.equals(FileFormat.LOCK_FILE) || FileFormat.isOwnTemporary(name)) {
                    continue;
                }
                if (name.equals(FileFormat.CONSUMERS_DIR) || FileFormat.arenaIdOf(name) >= 0) {
                    throw new QueueCorruptedException(dir.resolve(FileFormat.META_FILE), 0, "queue.meta is missing"
                            + " but the directory holds queue files (" + name + ")");
                }
                throw new IllegalArgumentException("directory " + dir + " is not a bigqueue queue: it has no"
                        + " queue.meta and is not empty (it holds '" + name + "'); open an empty or new directory,"
                        + " or the directory of an existing queue");
            }
        }
    }

    /** Undoes a failed open: no thread, no mapping, no lock left, a clean queue still clean. */
    private void undo(Throwable failure) {
        List<Throwable> errors = new ArrayList<>();
        if (engine != null) {
            QueueEngine.attempt(errors, engine::abandon);
        }
        if (markedOpen && wasClean) {
            QueueEngine.attempt(errors, () -> {
                index.setState(FileFormat.STATE_CLOSED_CLEANLY);
                index.force();
            });
        }
        if (arenas != null) {
            QueueEngine.attempt(errors, arenas::close);
        }
        if (index != null) {
            QueueEngine.attempt(errors, index::close);
        }
        if (createdMeta) {
            QueueEngine.attempt(errors, () -> {
                try {
                    Files.deleteIfExists(dir.resolve(FileFormat.META_FILE));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        }
        QueueEngine.attempt(errors, () -> {
            try {
                lock.close();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        for (Throwable t : errors) {
            failure.addSuppressed(t);
        }
    }
}
