package dev.bigqueue.internal;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Every named consumer of a queue, taken for a whole-queue operation ({@code BigQueue.repair}).
 * The directory lock keeps out the queue's writer but not its read-only opens in other processes,
 * which take no directory lock: a reader holds only the lock of each consumer it has open
 * ({@link ConsumerOwnership}). An operation that rewrites consumer files and moves arenas must
 * hold those too, or the reader keeps using files changed under it and later commits over them.
 *
 * <p>A consumer whose lock file does not exist has never been open and is not taken: no file is
 * created. Where it stops: a read-only open that has no consumer open holds nothing to ask.
 */
final class ConsumerHolds implements AutoCloseable {
    private final List<ConsumerOwnership> held = new ArrayList<>();

    private ConsumerHolds() {
    }

    /**
     * Takes every named consumer of the queue in {@code dir} (whose directory lock the caller holds).
     *
     * @param doing what needs them, for the refusal: "repair".
     * @throws IllegalStateException naming the consumer and the holder's pid if one is open elsewhere.
     */
    static ConsumerHolds takeAll(Path dir, String doing) throws IOException {
        ConsumerHolds holds = new ConsumerHolds();
        Path consumers = dir.resolve(FileFormat.CONSUMERS_DIR);
        if (!Files.isDirectory(consumers)) {
            return holds;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(consumers, "*" + FileFormat.CONSUMER_SUFFIX)) {
            for (Path f : files) {
                String file = f.getFileName().toString();
                String name = file.substring(0, file.length() - FileFormat.CONSUMER_SUFFIX.length());
                if (Files.exists(consumers.resolve(name + ".lock"))) {
                    holds.held.add(ConsumerOwnership.acquire(dir, name));
                }
            }
        } catch (IllegalStateException e) {
            holds.close();
            // The consumer's own words end with advice for a second open of it ("use another name").
            String who = e.getMessage().split("; ", 2)[0];
            throw new IllegalStateException("cannot " + doing + " queue " + dir + " while it is open: " + who
                    + ", a read-only open of the queue; close it there first", e);
        } catch (IOException | RuntimeException | Error e) {
            holds.close();
            throw e;
        }
        return holds;
    }

    @Override
    public void close() {
        for (ConsumerOwnership o : held) {
            o.close();
        }
        held.clear();
    }
}
