package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.testing.QueueFiles;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** QueueConfig: defaults, validation messages, properties, and agreement with config/bigqueue.properties. */
class QueueConfigTest {
    @TempDir
    Path dir;

    static Path documentedDefaults() {
        Path p = Path.of("..", "config", "bigqueue.properties");
        return Files.exists(p) ? p : Path.of("config", "bigqueue.properties");
    }

    @Test
    void documentedPropertiesFile_equalsBuiltInDefaults() throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(documentedDefaults())) {
            p.load(r);
        }
        assertEquals(13, p.size(), "config/bigqueue.properties must list every option once");
        QueueConfig fromFile = QueueConfig.fromProperties(p);
        QueueConfig defaults = QueueConfig.defaults();
        assertEquals(defaults, fromFile);
        p.setProperty("bigqueue.readOnly", "true");
        assertTrue(QueueConfig.fromProperties(p).readOnly());
        assertTrue(!defaults.readOnly());
    }

    @Test
    void defaults_matchSpec() {
        QueueConfig c = QueueConfig.defaults();
        assertEquals(128L << 20, c.arenaSize());
        assertEquals(3, c.maxInMemoryArenas());
        assertEquals(0, c.flushEveryOps());
        assertEquals(Duration.ofSeconds(1), c.flushInterval());
        assertFalse(c.syncOnWrite());
        assertEquals(Duration.ofSeconds(10), c.gcInterval());
        assertEquals(0, c.maxDiskBytes());
        assertEquals(WhenFull.BLOCK, c.whenFull());
        assertFalse(c.isArenaSizeSet());
    }

    @Test
    void build_rejectsOutOfRange_namingOptionValueAndRange() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> QueueConfig.builder().arenaSize(1000).build());
        assertTrue(e.getMessage().contains("arenaSize") && e.getMessage().contains("1000")
                && e.getMessage().contains("4096"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> QueueConfig.builder().arenaSize(-1).build());
        assertThrows(IllegalArgumentException.class, () -> QueueConfig.builder().arenaSize(2L << 30).build());
        e = assertThrows(IllegalArgumentException.class, () -> QueueConfig.builder().maxInMemoryArenas(-1).build());
        assertTrue(e.getMessage().contains("maxInMemoryArenas"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> QueueConfig.builder().flushEveryOps(-5).build());
        assertThrows(IllegalArgumentException.class,
                () -> QueueConfig.builder().flushInterval(Duration.ofSeconds(-1)).build());
        assertThrows(IllegalArgumentException.class, () -> QueueConfig.builder().flushInterval(null).build());
        assertThrows(IllegalArgumentException.class,
                () -> QueueConfig.builder().gcInterval(Duration.ofMillis(-1)).build());
        e = assertThrows(IllegalArgumentException.class,
                () -> QueueConfig.builder().arenaSize(4096).maxDiskBytes(4096).build());
        assertTrue(e.getMessage().contains("maxDiskBytes") && e.getMessage().contains("8192"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> QueueConfig.builder().maxDiskBytes(-1).build());
        assertThrows(IllegalArgumentException.class, () -> QueueConfig.builder().whenFull(null).build());
    }

    @Test
    void fromProperties_parsesUnitsAndRejectsUnknownOrBadValues() {
        Properties p = new Properties();
        p.setProperty("bigqueue.arenaSize", "64k");
        p.setProperty("bigqueue.flushInterval", "250ms");
        p.setProperty("bigqueue.gcInterval", "0");
        p.setProperty("bigqueue.maxDiskBytes", "1m");
        p.setProperty("bigqueue.whenFull", "drop_oldest");
        p.setProperty("bigqueue.syncOnWrite", "true");
        QueueConfig c = QueueConfig.fromProperties(p);
        assertEquals(64 * 1024, c.arenaSize());
        assertTrue(c.isArenaSizeSet());
        assertEquals(Duration.ofMillis(250), c.flushInterval());
        assertEquals(Duration.ZERO, c.gcInterval());
        assertEquals(1 << 20, c.maxDiskBytes());
        assertEquals(WhenFull.DROP_OLDEST, c.whenFull());
        assertTrue(c.syncOnWrite());

        Properties typo = new Properties();
        typo.setProperty("bigqueue.arenaSise", "4k");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> QueueConfig.fromProperties(typo));
        assertTrue(e.getMessage().contains("bigqueue.arenaSise"), e.getMessage());

        Properties bad = new Properties();
        bad.setProperty("bigqueue.flushInterval", "soon");
        e = assertThrows(IllegalArgumentException.class, () -> QueueConfig.fromProperties(bad));
        assertTrue(e.getMessage().contains("flushInterval") && e.getMessage().contains("soon"), e.getMessage());
        Properties badBool = new Properties();
        badBool.setProperty("bigqueue.syncOnWrite", "yes");
        assertThrows(IllegalArgumentException.class, () -> QueueConfig.fromProperties(badBool));
    }

    /** An int option given a number past int in a properties file: refused, never wrapped to another value. */
    @Test
    void fromProperties_intOptionBeyondInt_isRefusedNotWrapped() {
        for (String key : new String[] {"maxInMemoryArenas", "arenaPool"}) {
            for (String v : new String[] {"4294967297", "2147483648", "-2147483649"}) {
                Properties p = new Properties();
                p.setProperty("bigqueue." + key, v);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> QueueConfig.fromProperties(p), key + "=" + v);
                assertTrue(e.getMessage().contains("bigqueue." + key) && e.getMessage().contains(v), e.getMessage());
            }
        }
    }

    /** A duration too large for a long count of seconds: an IllegalArgumentException naming the key. */
    @Test
    void fromProperties_durationTooLarge_namesTheKey() {
        for (String v : new String[] {"153722867280912931m", "9223372036854775807000ms"}) {
            Properties p = new Properties();
            p.setProperty("bigqueue.gcInterval", v);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> QueueConfig.fromProperties(p), v);
            assertTrue(e.getMessage().contains("bigqueue.gcInterval") && e.getMessage().contains(v), e.getMessage());
        }
    }

    /**
     * build() accepts any non-negative duration, so the queue must work with one too long for a
     * count of nanoseconds (about 292 years): such a period means "practically never". The open
     * used to fail with a bare ArithmeticException ("long overflow").
     */
    @Test
    void durationsPastLongNanos_openAndMeanPracticallyNever() {
        QueueConfig c = QueueConfig.builder().arenaSize(8192).flushInterval(Duration.ofDays(365L * 400))
                .gcInterval(Duration.ofSeconds(Long.MAX_VALUE)).retention(Duration.ofSeconds(Long.MAX_VALUE)).build();
        try (BigQueue q = BigQueue.open(dir, c)) {
            for (int i = 0; i < 300; i++) {
                q.enqueueString("m" + i);
            }
            q.gc();
            assertEquals(0, q.earliestOffset(), "retention of ~292 billion years deleted nothing");
            assertEquals("m0", q.dequeueString());
        }
    }

    @Test
    void reopenWithConflictingArenaSize_namesBothValues_unsetAdoptsPersisted() {
        BigQueue.open(dir, QueueConfig.builder().arenaSize(8192).build()).close();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BigQueue.open(dir, QueueConfig.builder().arenaSize(16384).build()));
        assertTrue(e.getMessage().contains("8192") && e.getMessage().contains("16384"), e.getMessage());
        try (BigQueue q = BigQueue.open(dir)) {
            assertEquals(8192, q.config().arenaSize());
        }
    }

    /**
     * maxDiskBytes is checked against the arena size; with arenaSize unset, build() can only use the
     * default, and the open the queue's own. Each error says which size it used and where it came
     * from: the open's used to read like a build() error about an arenaSize the caller never set.
     */
    @Test
    void maxDiskBytes_withArenaSizeUnset_errorsSayWhichArenaSizeTheyUsed() throws IOException {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> QueueConfig.builder().maxDiskBytes(64 << 10).build());
        assertTrue(e.getMessage().contains("arenaSize is not set") && e.getMessage().contains("65536"),
                e.getMessage());
        long big = 256L << 20;
        BigQueue.open(dir, QueueConfig.builder().arenaSize(big).pretouch(false).build()).close();
        byte[] meta = Files.readAllBytes(QueueFiles.meta(dir));
        java.util.List<String> files = listing();
        e = assertThrows(IllegalArgumentException.class,
                () -> BigQueue.open(dir, QueueConfig.builder().maxDiskBytes(big).build()));
        assertTrue(e.getMessage().contains(dir.toString()) && e.getMessage().contains("created with arenaSize " + big)
                && e.getMessage().contains("maxDiskBytes") && e.getMessage().contains(String.valueOf(2 * big)),
                e.getMessage());
        assertArrayEquals(meta, Files.readAllBytes(QueueFiles.meta(dir)), "a refused open changes no file");
        assertEquals(files, listing());
        try (BigQueue q = BigQueue.open(dir, QueueConfig.builder().maxDiskBytes(2 * big).build())) {
            assertEquals(big, q.config().arenaSize());
        }
    }

    private java.util.List<String> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void otherOptionsMayChangeBetweenOpens() {
        try (BigQueue q = BigQueue.open(dir, QueueConfig.builder().arenaSize(8192).build())) {
            q.enqueueString("a");
        }
        QueueConfig other = QueueConfig.builder().arenaSize(8192).maxInMemoryArenas(1).syncOnWrite(true)
                .flushInterval(Duration.ZERO).gcInterval(Duration.ZERO).maxDiskBytes(1 << 20)
                .whenFull(WhenFull.FAIL).build();
        try (BigQueue q = BigQueue.open(dir, other)) {
            assertEquals("a", q.dequeueString());
            assertEquals(other, q.config());
        }
    }
}
