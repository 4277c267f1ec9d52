package dev.bigqueue.bench.peer;

import org.junit.jupiter.api.Assumptions;

/**
 * Skips the calling test where Chronicle Queue cannot start: its release pinned as the benchmark
 * peer (5.23) fails as it loads on JDK 25 ({@link ChronicleFlags#unusableReason()}), where
 * {@code bench} leaves it out and says so. Everything else of the test's peers is covered by the
 * tests that do not need Chronicle.
 */
public final class ChronicleAvailable {
    private ChronicleAvailable() {
    }

    /** Skips the test (with the reason) unless Chronicle starts in this JVM. */
    public static void assume() {
        String reason = ChronicleFlags.unusableReason();
        Assumptions.assumeTrue(reason == null, () -> "skipped: " + reason + "; bench leaves Chronicle out there");
    }
}
