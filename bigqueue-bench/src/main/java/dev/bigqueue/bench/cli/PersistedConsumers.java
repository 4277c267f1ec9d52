package dev.bigqueue.bench.cli;

import dev.bigqueue.internal.ConsumerFile;
import dev.bigqueue.internal.FileFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * The named consumers of a queue as their files say, without opening them: what the command line
 * shows of a queue that its writer holds, where a consumer may be open in that process (and one
 * consumer is open in one process at a time).
 */
final class PersistedConsumers {
    private PersistedConsumers() {
    }

    /** Name to {committed offset, committed stream position}, sorted by name. */
    static Map<String, long[]> read(Path queueDir) {
        try {
            return ConsumerFile.readAll(queueDir.resolve(FileFormat.CONSUMERS_DIR));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the consumer files of " + queueDir + ": " + e.getMessage(), e);
        }
    }
}
