package dev.bigqueue.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.consumer.CommitMode;
import dev.bigqueue.consumer.Consumer;
import dev.bigqueue.consumer.Consumers;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code bigqueue consume} commits only what reached its standard output (issue 10, finding 8): a
 * real closed pipe, a real full device and a real file size limit, each in a child JVM, since a
 * PrintStream in this JVM would hide the very errors under test. After the failed write the command
 * exits non-zero, says why on stderr, and the consumer is committed at the first message not
 * written, so the next consume starts there.
 */
class ConsumeOutputErrorsTest {
    /** Every message is one 31-byte line: offsets and output bytes convert exactly. */
    private static final int LINE_BYTES = 32;

    @TempDir
    Path tmp;

    private static String message(long offset) {
        return String.format(Locale.ROOT, "message-%010d-xxxxxxxxxxxx", offset);
    }

    /** A queue of {@code count} messages, in small arenas (every file stays under the file size limit below). */
    private Path fill(int count) {
        Path dir = tmp.resolve("q");
        try (BigQueue queue = BigQueue.open(dir, QueueConfig.builder().arenaSize(64 * 1024).build())) {
            for (int i = 0; i < count; i++) {
                queue.enqueueString(message(i));
            }
        }
        assertEquals(LINE_BYTES, message(0).length() + 1);
        return dir;
    }

    /** Consumer "app"'s committed position, after checking that a new read starts exactly there. */
    private static long committedAndNextFollows(Path dir, int count) {
        try (BigQueue queue = BigQueue.open(dir)) {
            Consumer app = Consumers.of(queue).open("app", CommitMode.MANUAL);
            long committed = app.committedPosition();
            assertEquals(committed, app.position());
            assertEquals(committed < count ? message(committed) : null, app.dequeueString(),
                    "the next consume starts at the committed position");
            return committed;
        }
    }

    private static String read(Path file) throws IOException {
        return Files.readString(file, StandardCharsets.UTF_8);
    }

    @Test
    void closedPipe_commitsNoMoreThanWasWritten_andExitsNonZero() throws Exception {
        int count = 100_000;
        Path dir = fill(count);
        Path stderr = tmp.resolve("stderr.txt");
        Process child = CliProcess.builder(List.of(), stderr, "consume", dir.toString(), "-c", "app").start();
        long readBytes = 0;
        int newlines = 0;
        // Like `| head -2`: take two lines, then close the pipe.
        try (InputStream in = child.getInputStream()) {
            // Larger than the stream's own 8 KiB buffer, so every byte counted here came out of the pipe.
            byte[] chunk = new byte[1 << 16];
            while (newlines < 2) {
                int n = in.read(chunk);
                if (n < 0) {
                    break;
                }
                for (int i = 0; i < n; i++) {
                    newlines += chunk[i] == '\n' ? 1 : 0;
                }
                readBytes += n;
            }
        }
        assertTrue(newlines >= 2, "the child printed " + newlines + " lines; stderr:\n" + read(stderr));
        int exitCode = CliProcess.exitCode(child, stderr);
        String err = read(stderr);

        long committed = committedAndNextFollows(dir, count);
        // Written, so committed: what this reader took. Not written, so not committed: anything beyond
        // what the pipe's buffer could hold after that.
        long pipeBytes = pipeMaxBytes();
        assertTrue(committed >= readBytes / LINE_BYTES, "committed " + committed + ", but the reader alone took "
                + readBytes / LINE_BYTES + " whole lines; stderr:\n" + err);
        assertTrue(committed * LINE_BYTES <= readBytes + pipeBytes, "committed " + committed + " of " + count
                + " messages, more than the " + readBytes + " bytes read plus a " + pipeBytes + "-byte pipe buffer"
                + " could hold; stderr:\n" + err);
        assertEquals(CliException.FAILED, exitCode, err);
        assertTrue(err.contains("Broken pipe"), err);
        assertTrue(err.contains("committed at offset " + committed), err);
    }

    @ParameterizedTest(name = "follow={0}")
    @ValueSource(booleans = {false, true})
    void fullDevice_commitsNothing_andSaysNoSpace(boolean follow) throws Exception {
        File full = new File("/dev/full");
        Assumptions.assumeTrue(full.exists(), "/dev/full is missing on this machine");
        int count = 5_000;
        Path dir = fill(count);
        Path stderr = tmp.resolve("stderr.txt");
        List<String> args = new ArrayList<>(List.of("consume", dir.toString(), "-c", "app"));
        if (follow) {
            args.add("--follow");
        }
        Process child = CliProcess.builder(List.of(), stderr, args.toArray(new String[0]))
                .redirectOutput(full).start();
        int exitCode = CliProcess.exitCode(child, stderr);
        String err = read(stderr);
        assertEquals(0, committedAndNextFollows(dir, count), err);
        assertEquals(CliException.FAILED, exitCode, err);
        assertTrue(err.contains("No space left on device"), err);
    }

    @Test
    void fileSizeLimit_commitsExactlyTheMessagesWrittenInFull() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/prlimit")),
                "needs /usr/bin/prlimit (util-linux) to set RLIMIT_FSIZE for the child");
        int count = 50_000;
        Path dir = fill(count);
        // Above what else the child writes (jffi's native stub, about 160 KB, in /tmp), below the whole
        // output, and inside a line: the last message is cut, so it must not be committed.
        long limitBytes = 33_333L * LINE_BYTES + 7;
        Path out = tmp.resolve("out.txt");
        Path stderr = tmp.resolve("stderr.txt");
        Process child = CliProcess.builder(List.of("/usr/bin/prlimit", "--fsize=" + limitBytes), stderr,
                "consume", dir.toString(), "-c", "app").redirectOutput(out.toFile()).start();
        int exitCode = CliProcess.exitCode(child, stderr);
        String err = read(stderr);
        assertEquals(limitBytes, Files.size(out), "the child wrote up to its limit; stderr:\n" + err);
        long whole = limitBytes / LINE_BYTES;
        List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
        for (int i = 0; i < whole; i++) {
            assertEquals(message(i), lines.get(i));
        }
        assertEquals(whole, committedAndNextFollows(dir, count), err);
        assertEquals(CliException.FAILED, exitCode, err);
        assertTrue(err.contains("File too large"), err);
        assertTrue(err.contains(String.format(Locale.ROOT, "%,d messages written", whole)), err);
    }

    /** The largest a pipe's buffer can be made without privileges (it is 64 KiB unless a program asks). */
    private static long pipeMaxBytes() {
        try {
            // Not Files.readString: on JDK 17 it reads one byte of a /proc file, whose size shows as 0.
            return Long.parseLong(Files.readAllLines(Path.of("/proc/sys/fs/pipe-max-size")).get(0).trim());
        } catch (IOException | RuntimeException e) {
            return 1 << 20;
        }
    }
}
