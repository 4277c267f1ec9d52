package dev.bigqueue.consumer;

import dev.bigqueue.QueueConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;

/** Shared test settings and message shapes. */
final class Fixtures {
    static final int ARENA_SIZE = 4096;

    private Fixtures() {
    }

    /** Smallest arenas, no background GC or flush: tests call gc() and flush() themselves. */
    static QueueConfig small() {
        return QueueConfig.builder().arenaSize(ARENA_SIZE).gcInterval(Duration.ZERO).flushInterval(Duration.ZERO)
                .build();
    }

    /**
     * The message for {@code offset}: {@code "m<offset>|"} and a padding whose length depends on the
     * offset, so that records straddle arena ends and every few hundred spans several arenas.
     */
    static String payload(long offset) {
        int pad = offset % 211 == 7 ? 9000 : (int) (offset * 37 % 300);
        return "m" + offset + "|" + "x".repeat(pad);
    }

    /** The offset a {@link #payload} names, after checking the whole payload is intact. */
    static long offsetOf(byte[] message) {
        String s = new String(message, StandardCharsets.UTF_8);
        int bar = s.indexOf('|');
        if (!s.startsWith("m") || bar < 0) {
            throw new AssertionError("not a test payload: " + abbreviate(s));
        }
        long offset = Long.parseLong(s.substring(1, bar));
        if (!s.equals(payload(offset))) {
            throw new AssertionError("payload of offset " + offset + " is damaged: " + abbreviate(s));
        }
        return offset;
    }

    static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...(" + s.length() + " chars)";
    }

    /** Arena files in the queue directory. */
    static long arenaFiles(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().startsWith("arena-")).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
