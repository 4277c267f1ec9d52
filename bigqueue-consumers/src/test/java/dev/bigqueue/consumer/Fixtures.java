package dev.bigqueue.consumer;

import dev.bigqueue.QueueConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.CRC32;

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

    /**
     * An arena file, not the temporary one the pretouch thread makes the next arena in before it
     * renames it (which a listing may show and a read then not find).
     */
    static boolean isArenaFile(Path p) {
        return p.getFileName().toString().matches("arena-\\d{12}\\.dat");
    }

    /** Arena files in the queue directory. */
    static long arenaFiles(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(Fixtures::isArenaFile).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Each arena file's name and CRC of its bytes. A queue open for writing may add the next arena
     * ahead of its writer at any time (its pretouch thread), so "nothing deleted or changed" is
     * checked as: every entry of an earlier snapshot is still in a later one.
     */
    static Map<String, Long> arenaContents(Path dir) {
        Map<String, Long> contents = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.filter(Fixtures::isArenaFile).toList()) {
                CRC32 crc = new CRC32();
                crc.update(Files.readAllBytes(p));
                contents.put(p.getFileName().toString(), crc.getValue());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return contents;
    }

    static void assertArenasKept(Map<String, Long> before, Path dir) {
        Map<String, Long> after = arenaContents(dir);
        for (Map.Entry<String, Long> e : before.entrySet()) {
            if (!e.getValue().equals(after.get(e.getKey()))) {
                throw new AssertionError(e.getKey() + (after.containsKey(e.getKey()) ? " changed" : " deleted")
                        + ": before " + before.keySet() + ", after " + after.keySet());
            }
        }
    }
}
