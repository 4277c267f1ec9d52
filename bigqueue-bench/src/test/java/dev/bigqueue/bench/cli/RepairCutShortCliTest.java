package dev.bigqueue.bench.cli;

import static dev.bigqueue.bench.cli.CliRun.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.internal.FileFormat;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A queue whose repair was cut short (queue.meta in state 2, as a repair killed midway leaves it;
 * the kill itself is bigqueue-core's {@code RepairCrashTest}): {@code inspect} and {@code produce}
 * refuse it with the command that finishes the repair, and {@code repair} finishes it.
 */
class RepairCutShortCliTest {
    @TempDir
    Path tmp;

    @Test
    void inspectAndProduce_nameTheRepairToRunAgain_andRepairFinishesIt() throws Exception {
        Path dir = tmp.resolve("q");
        assertEquals(0, run("a\nb\n", "produce", dir.toString(), "--arena-size", "64KB").exitCode());
        ByteBuffer state = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, FileFormat.STATE_REPAIRING);
        try (FileChannel c = FileChannel.open(dir.resolve(FileFormat.META_FILE), StandardOpenOption.WRITE)) {
            c.write(state, FileFormat.META_STATE_OFFSET);
        }
        String advice = "`bigqueue repair " + dir.toAbsolutePath() + "`";
        for (String command : new String[] {"inspect", "produce"}) {
            CliRun refused = run("c\n", command, dir.toString());
            assertEquals(CliException.FAILED, refused.exitCode(), command + ": " + refused.err());
            assertTrue(refused.err().contains("a repair was cut short"), command + ": " + refused.err());
            assertTrue(refused.err().contains(advice), command + ": " + refused.err());
        }
        CliRun repair = run("", "repair", dir.toString());
        assertEquals(0, repair.exitCode(), repair.err());
        assertTrue(repair.out().contains("finished a repair that was cut short"), repair.out());
        CliRun inspect = run("", "inspect", dir.toString());
        assertEquals(0, inspect.exitCode(), inspect.err());
        assertTrue(inspect.out().contains("tail 2"), inspect.out());
    }
}
