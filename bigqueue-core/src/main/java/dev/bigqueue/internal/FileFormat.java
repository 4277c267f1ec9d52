package dev.bigqueue.internal;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * THE on-disk format of a queue directory: every file drawn here, with its constants, offsets and
 * names. Code that reads or writes these bytes lives elsewhere ({@link RecordFormat},
 * {@link Arena}, {@link Index}, {@link PositionSlots}). All integers are little-endian.
 *
 * <pre>
 * queue directory
 *   queue.meta                 the index: options, head, durable point, tail hint   (4096 bytes)
 *   queue.lock                 held with an OS file lock while open; text: the owner's pid
 *   arena-000000000000.dat     arena 0, exactly arenaSize bytes, reserved on creation
 *   arena-000000000001.dat     ...
 *   pool-000000000000.dat      a consumed arena file kept for reuse (arenaPool), named for the arena it
 *                              last was; never read as an arena: its content is garbage until a
 *                              reuse writes a new header (below) and renames it to an arena name
 *   consumers/NAME.consumer    one per named consumer: its committed position       (128 bytes)
 *   consumers/NAME.lock        held with an OS file lock while the consumer is open in some process
 *                              (writer or read-only open); text: that process's pid; never deleted
 *   consumers/.gc.lock         held by a collection pass, or by a read-only open creating a consumer
 *   latest/NAME-OFFSET.snap    LatestValues snapshots (bigqueue-consumers, class Snapshots draws them)
 *   writeback-failed           only after the disk refused records during a sync (32 bytes, below):
 *                              the next writer open rewrites the arenas from there into new files
 *
 * writeback-failed (32 bytes; written when a sync of records first fails, best effort: the disk
 * may refuse it too, but the page cache keeps it for the opens of the same boot, the ones at risk)
 *   0   8  magic "BIGQWBFL"
 *   8   8  durable offset when the sync failed: the records from here on may not be on disk
 *  16   8  durable position (stream position): the arenas from the one holding it are rewritten
 *  24   8  check: mix(offset, position); a marker that fails it means "rewrite every arena"
 *
 * queue.meta (4096 bytes)
 *   0   8  magic "BIGQMETA"
 *   8   4  version (2; a version-1 queue is refused, see "Version 1" below)
 *  12   4  state: 1 = closed cleanly (tail slot is exact), 0 = open, or died while open,
 *          2 = a repair is in progress, or was cut short (see "Repair" below): open refuses it
 *  16   8  arenaSize
 *  24   8  created, epoch millis
 *  32  16  boot id of the kernel that last opened the queue (zeros if unknown)
 *  48   8  header check: mix(arenaSize, created); zeros in queues made before it existed
 *  56   8  reserved
 *  64  32  tail slot          next offset / position to write; written only by a clean close,
 *                             and trusted only when state = 1
 *  96  64  head slots A, B    the queue's own consumer: committed offset / position
 * 160  64  durable slots A, B every record before this position was on disk at the last flush
 * 224  64  start slots A, B   the earliest record kept: arenas before its arena are deleted, and
 *                             this is written (and synced) before they are
 * 288  64  dropped slots A, B the start as it was after unread records were last dropped by a
 *                             rule (DROP_OLDEST, retention): a consumer before it missed them by
 *                             that rule; one before the start but not before this points at damage
 * 352 ...  reserved (zeros)
 *
 * Repair (BigQueue.repair) changes the files in steps: arenas moved aside, the log cut (the tail
 * arena zeroed after the new tail, later arenas removed), consumers moved, then the index written.
 * Before its first change it sets state 2 and syncs queue.meta; its last write, synced after all
 * the others, sets state 1. Until then no field of queue.meta describes the log (the tail slot
 * and the durable point may lie past the cut), so open, read-only or not, refuses a queue in
 * state 2 and names the repair to run again; a repair run again finishes the work. In state 2 the
 * tail slot, if valid, is only what the repair found: the exact tail of the clean close before it
 * (a repair of a queue in state 0 blanks the slot before it sets state 2), or the tail the repair
 * recorded at its end; repair uses it for its report and, with no start and no first record
 * anywhere, as the start, never as the end of the log.
 *
 * Slot pairs that are all zeros were never written (a queue made before the slot existed, or
 * nothing happened yet); a pair with non-zero bytes and no valid slot is damage.
 *
 * slot (32 bytes): a position in the record stream, written without tearing
 *   0   8  offset      message number (0, 1, 2, ...)
 *   8   8  position    byte position in the record stream
 *  16   8  sequence    bumped on every write; of two slots the valid one with the larger wins
 *  24   8  check       mix(offset, position, sequence): a torn write fails it
 *
 * arena-NNNNNNNNNNNN.dat (arenaSize bytes)
 *   0   8  magic "BIGQAREN"
 *   8   4  version (2)
 *  12   4  reuses: how many times this file was an arena before (0 = made fresh); a count for
 *          diagnosis and tests, checked by nothing (version-2 files made before it say 0)
 *  16   8  arena id
 *  24   8  arenaSize
 *  32  32  first-record slot: offset and position of the first record that starts in this
 *          arena (sequence 1 once set, all zeros before); the sparse offset index
 *  64  32*E  time index, E = ceil(arenaSize / 65536) entries; entry k describes the first record
 *          that starts in data bytes [k*64 KiB, (k+1)*64 KiB) of this arena, all zeros if none
 *          does (yet). Derived data: written by the appender with the record, checked before use,
 *          an entry that fails its check or points past the tail is ignored.
 *     entry (32 bytes)
 *       0   8  max timestamp   largest timestamp (ms) of every record up to and including this one
 *       8   8  offset
 *      16   8  position        in the record stream
 *      24   8  check           mix(max timestamp, offset, position), never 0
 *  H ...   data, H = 64 + 32*E: the record stream continues from the previous arena's last data
 *          byte. Data bytes per arena: (arenaSize - H) rounded down to a multiple of 8.
 *
 * Reuse of a pooled file (arenaPool): bytes 0 .. H+8 are written (the header above, first-record
 * slot and time index zeros, the first record's length and checksum zeros) and synced under the
 * pool name, then the file is renamed to its arena name and the directory synced. The data after
 * H+8 still holds the old arena's records; the appender keeps them from ever looking new: before a
 * record's header is written, the 8 bytes after the record (the next record's length and
 * checksum) are zeroed, so the bytes at the tail are zeros, as in a fresh file, and a stale
 * record can be met only behind a page that a power loss kept from the disk, where the commit
 * rule (its checksum is salted with another offset) refuses it as it refuses a torn record.
 *
 * record (in the record stream, starting at a multiple of 8; may span arenas; its first 8
 *         bytes never do, its stamp may start the next arena)
 *   0   4  length      payload bytes, 0 .. 2^31-1
 *   4   4  checksum    CRC32C(stamp, payload) XOR recordSalt(offset, length), never 0 for a real record
 *   8   8  stamp       timestamp (epoch ms, signed) in bits 63..8, flags in bits 7..0:
 *                      1 = key, 2 = headers, 4 = tombstone (no value); others must be 0
 *  16   n  payload     flags 0: the value. Otherwise, in this order:
 *                        if key:     varint key length, key bytes
 *                        if headers: varint count, then per header varint name length,
 *                                    UTF-8 name, varint value length, value bytes
 *                        the value (the rest of the payload; none for a tombstone)
 *                      (varint: unsigned LEB128, 7 bits a byte, low bits first)
 * 16+n  p  zero padding to the next multiple of 8
 *
 * consumers/NAME.consumer (128 bytes)
 *   0   8  magic "BIGQCONS"
 *   8   4  version (2)
 *  12   4  commit mode the consumer was last opened with (0 = AUTO, 1 = MANUAL)
 *  16  64  slots A, B: committed offset / position
 *  80  48  reserved (zeros)
 *
 * Version 1 (what changed in 2): the version fields said 1; arena data began at byte 64 (no
 * time index); the record header was 8 bytes [length][checksum], CRC32C over the payload only,
 * no stamp, the payload always the plain message. Consumer files are the same but for the
 * version. A version-1 queue is refused by open, never read as version 2; BigQueue.upgrade
 * (bigqueue upgrade DIR) rewrites it.
 * </pre>
 *
 * <p><b>The commit rule:</b> a record exists only if its checksum matches; the checksum mixes in
 * the record's own offset and length, so zeros, a torn write, or a stale record of another offset
 * never pass. Within a running process a record is visible to readers only after the writer
 * publishes the tail past it.
 *
 * <p>A position in the record stream maps to arena {@code position / dataBytes} at byte
 * {@code H + position % dataBytes}, H = {@link #arenaDataStart}(arenaSize).
 */
public final class FileFormat {
    public static final int VERSION = 2;
    /** The version before: refused by open, rewritten by BigQueue.upgrade. */
    public static final int VERSION_1 = 1;

    public static final String META_FILE = "queue.meta";
    public static final String LOCK_FILE = "queue.lock";
    public static final String CONSUMERS_DIR = "consumers";
    /** LatestValues' snapshots (bigqueue-consumers): part of the queue directory, not of its log. */
    public static final String SNAPSHOTS_DIR = "latest";
    public static final String CONSUMER_SUFFIX = ".consumer";
    /** Present only after a failed write-back of records; see the drawing above. */
    public static final String WRITEBACK_FAILED_FILE = "writeback-failed";
    public static final long WRITEBACK_FAILED_MAGIC = magic("BIGQWBFL");
    public static final int WRITEBACK_FAILED_SIZE = 32;

    /** The range of arenaSize a queue.meta may record (QueueConfig enforces the same). */
    public static final long MIN_ARENA_SIZE = 4096;
    public static final long MAX_ARENA_SIZE = 1L << 30;

    public static final int META_SIZE = 4096;
    public static final long META_MAGIC = magic("BIGQMETA");
    public static final int META_VERSION_OFFSET = 8;
    public static final int META_STATE_OFFSET = 12;
    public static final int META_ARENA_SIZE_OFFSET = 16;
    public static final int META_CREATED_OFFSET = 24;
    public static final int META_BOOT_ID_OFFSET = 32;
    public static final int META_HEADER_CHECK_OFFSET = 48;
    public static final int META_TAIL_SLOT = 64;
    public static final int META_HEAD_SLOTS = 96;
    public static final int META_DURABLE_SLOTS = 160;
    public static final int META_START_SLOTS = 224;
    public static final int META_DROPPED_SLOTS = 288;
    public static final int STATE_OPEN = 0;
    public static final int STATE_CLOSED_CLEANLY = 1;
    /** A repair is in progress, or was cut short: open refuses the queue until a repair finishes. */
    public static final int STATE_REPAIRING = 2;

    public static final int SLOT_SIZE = 32;
    public static final int SLOT_OFFSET = 0;
    public static final int SLOT_POSITION = 8;
    public static final int SLOT_SEQUENCE = 16;
    public static final int SLOT_CHECK = 24;

    /** The fixed part of an arena header: identity and first-record slot. */
    public static final int ARENA_HEADER_SIZE = 64;
    public static final int TIME_INDEX_OFFSET = 64;
    public static final int TIME_ENTRY_SIZE = 32;
    public static final int TIME_ENTRY_MAX_TIMESTAMP = 0;
    public static final int TIME_ENTRY_OFFSET = 8;
    public static final int TIME_ENTRY_POSITION = 16;
    public static final int TIME_ENTRY_CHECK = 24;
    /** Data bytes between two time-index entries of an arena. */
    public static final int TIME_INDEX_INTERVAL = 64 * 1024;
    public static final long ARENA_MAGIC = magic("BIGQAREN");
    public static final int ARENA_VERSION_OFFSET = 8;
    public static final int ARENA_REUSES_OFFSET = 12;
    public static final int ARENA_ID_OFFSET = 16;
    public static final int ARENA_SIZE_OFFSET = 24;
    public static final int ARENA_FIRST_RECORD_SLOT = 32;

    public static final int RECORD_HEADER_SIZE = 16;
    public static final int RECORD_LENGTH_OFFSET = 0;
    public static final int RECORD_CHECKSUM_OFFSET = 4;
    public static final int RECORD_STAMP_OFFSET = 8;
    public static final int RECORD_ALIGNMENT = 8;

    public static final int CONSUMER_FILE_SIZE = 128;
    public static final long CONSUMER_MAGIC = magic("BIGQCONS");
    public static final int CONSUMER_VERSION_OFFSET = 8;
    public static final int CONSUMER_MODE_OFFSET = 12;
    public static final int CONSUMER_SLOTS = 16;

    private static final Pattern ARENA_NAME = Pattern.compile("arena-(\\d{12})\\.dat");
    private static final Pattern POOL_NAME = Pattern.compile("pool-(\\d{12})\\.dat");

    private FileFormat() {
    }

    /** Entries in the time index of an arena of {@code arenaSize} bytes. */
    public static int timeEntries(long arenaSize) {
        return (int) ((arenaSize + TIME_INDEX_INTERVAL - 1) / TIME_INDEX_INTERVAL);
    }

    /** Where the data of an arena of {@code arenaSize} bytes begins: after the header and its time index. */
    public static int arenaDataStart(long arenaSize) {
        return TIME_INDEX_OFFSET + TIME_ENTRY_SIZE * timeEntries(arenaSize);
    }

    /** Data bytes per arena of {@code arenaSize} bytes. */
    public static long dataBytes(long arenaSize) {
        return (arenaSize - arenaDataStart(arenaSize)) & ~(long) (RECORD_ALIGNMENT - 1);
    }

    /** The check word of a time-index entry; never 0. */
    public static long timeEntryCheck(long maxTimestamp, long offset, long position) {
        return mix64(mix64(maxTimestamp ^ 0x54494D45_494E4458L) + offset * 31 + position) | 1;
    }

    /** Bytes a record of {@code payloadBytes} takes in the stream, header and padding included. */
    public static long recordBytes(long payloadBytes) {
        return (RECORD_HEADER_SIZE + payloadBytes + RECORD_ALIGNMENT - 1) & ~(long) (RECORD_ALIGNMENT - 1);
    }

    /** The one place arena file names are made: zero-padded so that {@code ls} sorts them. */
    public static String arenaFileName(long arenaId) {
        return String.format("arena-%012d.dat", arenaId);
    }

    /** The arena id in an arena file name, or -1 if the name is not one. */
    public static long arenaIdOf(String fileName) {
        Matcher m = ARENA_NAME.matcher(fileName);
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    /** The one place pool file names are made: named for the arena the file last was, so never two alike. */
    public static String poolFileName(long lastArenaId) {
        return String.format("pool-%012d.dat", lastArenaId);
    }

    /**
     * Whether {@code fileName} is a temporary file of the queue's own (one of its files being
     * written, {@code <name>.tmp}, before the rename into place): a crash can leave one, and the
     * next open deletes it. Any other {@code .tmp} in the directory is not the queue's to delete.
     */
    public static boolean isOwnTemporary(String fileName) {
        if (!fileName.endsWith(".tmp")) {
            return false;
        }
        String base = fileName.substring(0, fileName.length() - ".tmp".length());
        return arenaIdOf(base) >= 0 || poolIdOf(base) >= 0 || base.equals(META_FILE)
                || base.equals(WRITEBACK_FAILED_FILE);
    }

    /** The arena id in a pool file name, or -1 if the name is not one. */
    public static long poolIdOf(String fileName) {
        Matcher m = POOL_NAME.matcher(fileName);
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    public static Path arenaFile(Path dir, long arenaId) {
        return dir.resolve(arenaFileName(arenaId));
    }

    public static Path consumerFile(Path dir, String name) {
        return dir.resolve(CONSUMERS_DIR).resolve(name + CONSUMER_SUFFIX);
    }

    /** Mixes a record's offset and length into its checksum; never 0. */
    public static int recordSalt(long offset, int length) {
        long h = mix64(offset * 0x9E3779B97F4A7C15L + length);
        return (int) (h ^ (h >>> 32)) | 1;
    }

    /** The check word of queue.meta's fixed fields; never 0. */
    public static long metaHeaderCheck(long arenaSize, long createdMillis) {
        return mix64(mix64(arenaSize ^ 0x42494751_4D455441L) + createdMillis) | 1;
    }

    /** The check word of a slot. */
    public static long slotCheck(long offset, long position, long sequence) {
        return mix64(mix64(offset ^ 0x5BD1E9955BD1E995L) + position * 31 + sequence) | 1;
    }

    /** The 64-bit finaliser of MurmurHash3: every input bit affects every output bit. */
    static long mix64(long z) {
        z = (z ^ (z >>> 33)) * 0xFF51AFD7ED558CCDL;
        z = (z ^ (z >>> 33)) * 0xC4CEB9FE1A85EC53L;
        return z ^ (z >>> 33);
    }

    private static long magic(String eight) {
        long m = 0;
        for (int i = 7; i >= 0; i--) {
            m = (m << 8) | (eight.charAt(i) & 0xFF);
        }
        return m;
    }
}
