package dev.bigqueue.bench;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.bench.peer.ChronicleFlags;
import org.junit.jupiter.api.Test;

/**
 * Chronicle Queue starts on the JDK the build runs (17 or 21), where bench compares with it; on
 * JDK 25 its 5.23 release fails as it loads, and bench says so and leaves it out.
 */
class ChronicleStartsTest {

    @Test
    void chronicleStartsOnThisJdk_orBenchSaysWhyNot() {
        String reason = ChronicleFlags.unusableReason();
        if (Runtime.version().feature() < 25) {
            assertNull(reason);
        } else {
            assertTrue(reason == null || reason.startsWith("Chronicle Queue does not start on JDK "), reason);
        }
    }
}
