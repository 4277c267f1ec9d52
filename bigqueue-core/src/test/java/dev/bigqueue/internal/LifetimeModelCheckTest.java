package dev.bigqueue.internal;

import dev.bigqueue.testing.Lincheck;
import dev.bigqueue.testing.Soak;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Validate;
import org.junit.jupiter.api.Test;

/**
 * Model checking (Lincheck) of the one lifetime mechanism, {@link Mapping}: every interleaving of
 * a few threads that pin and use the mapping, retire it, and evict it, explored by the model
 * checker. Checked in every interleaving: a thread holding a pin never finds the mapping unmapped
 * (touching it would crash the JVM), and once retired and quiet the mapping is unmapped (close's
 * drain ends). The operations return nothing; a violation throws inside the operation, which the
 * sequential run never does, so Lincheck reports it with the interleaving that caused it.
 */
public class LifetimeModelCheckTest {
    private static final Path FILE = tempFile();

    private final Mapping mapping = map();
    private volatile boolean retired;

    private static Path tempFile() {
        try {
            Path f = Files.createTempFile("mapping-model", ".bin");
            Files.write(f, new byte[4096]);
            f.toFile().deleteOnExit();
            return f;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Mapping map() {
        try {
            return Mapping.map(FILE, size -> { });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A read: pin, use, unpin; while pinned the pages must be there. */
    @Operation
    public void use() {
        if (mapping.tryPin()) {
            try {
                if (mapping.isUnmapped()) {
                    throw new AssertionError("pinned, but unmapped: a read here would crash the JVM");
                }
            } finally {
                mapping.unpin();
            }
        }
    }

    /** Close or deletion: no new pins; unmapped by the last pin out. */
    @Operation
    public void retire() {
        retired = true;
        mapping.retire();
    }

    /** LRU eviction: only an idle mapping goes. */
    @Operation
    public void evict() {
        mapping.tryUnmapIdle();
    }

    @Validate
    public void quietAndRetiredMeansUnmapped() {
        if (mapping.isPinned()) {
            throw new AssertionError("a pin survived its operation");
        }
        if (retired && !mapping.isUnmapped()) {
            throw new AssertionError("retired and no pin held, yet still mapped: close would wait forever");
        }
        // (Validation may run between parts of a scenario: it must not change the mapping. Each
        // instance's pages are released by its cleaner when the instance is collected.)
    }

    @Test
    void mapping_neverUnmappedWhilePinned_andRetiredIsUnmappedOnceQuiet() {
        // No operations before the parallel part: a retire there would leave nothing to race.
        Lincheck.options().iterations(Soak.rounds("bigqueue.lincheck.iterations", 15, 80))
                .invocationsPerIteration(Soak.rounds("bigqueue.lincheck.invocations", 500, 1000))
                .threads(3).actorsPerThread(2)
                .actorsBefore(0).check(LifetimeModelCheckTest.class);
    }
}
