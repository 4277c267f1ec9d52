package dev.bigqueue;

import java.nio.file.Path;

/**
 * What {@link BigQueue#upgrade(Path)} did.
 *
 * @param directory the queue directory, now in format version 2.
 * @param keptAside where the version-1 files now are (delete them once the queue works), or null
 *     if the queue was already in version 2 and nothing was done.
 * @param messages messages copied (offsets {@code firstOffset} .. {@code firstOffset + messages - 1}).
 * @param firstOffset the earliest offset kept, the same as before.
 * @param consumers named consumers whose positions were carried over.
 */
public record UpgradeReport(Path directory, Path keptAside, long messages, long firstOffset, int consumers) {
    /** Whether the queue already was in version 2 (nothing was done). */
    public boolean wasCurrent() {
        return keptAside == null;
    }

    @Override
    public String toString() {
        if (keptAside == null) {
            return "queue " + directory + " is already in format version 2: nothing to do";
        }
        return "queue " + directory + " upgraded from format version 1 to 2: " + messages + " message(s) from offset "
                + firstOffset + ", " + consumers + " named consumer(s) at the same offsets; each message is"
                + " timestamped with the modification time of the version-1 arena file it started in; the"
                + " version-1 files are kept in " + keptAside + " until you delete them";
    }
}
