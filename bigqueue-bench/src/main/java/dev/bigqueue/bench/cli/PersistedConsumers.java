package dev.bigqueue.bench.cli;

import dev.bigqueue.internal.ConsumerFile;
import dev.bigqueue.internal.FileFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The named consumers of a queue as their files say, without opening them: a consumer is open in
 * one process at a time, so a command that opened each one would fail while another process (a
 * {@code consume --follow}, an application) reads through it, and opening one rewrites its file.
 */
final class PersistedConsumers {
    private PersistedConsumers() {
    }

    /** One consumer file: its committed offset, or what is wrong with it (then the offset is -1). */
    record Entry(String name, long committed, String problem) {
    }

    /** Name to {committed offset, committed stream position}, sorted by name. */
    static Map<String, long[]> read(Path queueDir) {
        try {
            return ConsumerFile.readAll(queueDir.resolve(FileFormat.CONSUMERS_DIR));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the consumer files of " + queueDir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Every consumer file, sorted by name, a damaged one included with its problem: one unreadable
     * file must not hide what the others say.
     */
    static Map<String, Entry> readEach(Path queueDir) {
        Map<String, Entry> out = new TreeMap<>();
        try {
            ConsumerFile.readEach(queueDir.resolve(FileFormat.CONSUMERS_DIR), (file, problem) -> {
                String name = file.getFileName().toString();
                name = name.substring(0, name.length() - FileFormat.CONSUMER_SUFFIX.length());
                out.put(name, new Entry(name, -1, problem + " (" + file + ")"));
            }).forEach((name, positions) -> out.put(name, new Entry(name, positions[0], null)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the consumer files of " + queueDir + ": " + e.getMessage(), e);
        }
        return out;
    }

    /**
     * Fails, after the caller has shown everything else, if one of {@code entries} is damaged: a
     * script must not take a damaged queue for a sound one.
     */
    static void failIfDamaged(Path queueDir, Collection<Entry> entries) {
        List<String> problems = entries.stream().filter(c -> c.problem() != null)
                .map(c -> "consumer '" + c.name() + "' is damaged: " + c.problem()).toList();
        if (!problems.isEmpty()) {
            throw new CliException(CliException.FAILED, String.join("; ", problems) + ". Its position is unknown:"
                    + " restore the file from a backup, or, with the queue closed, run bigqueue repair " + queueDir
                    + " (it sets the file aside and says where the consumer starts again)");
        }
    }
}
