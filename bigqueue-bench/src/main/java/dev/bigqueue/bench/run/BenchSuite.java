package dev.bigqueue.bench.run;

import dev.bigqueue.QueueConfig;
import dev.bigqueue.bench.peer.PeerType;
import dev.bigqueue.internal.FileFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The side-by-side comparison behind {@code bigqueue bench}: for every message size, every peer's
 * write, read and drain throughput; then every peer's producer-to-consumer latency at a fixed rate. Each
 * measurement gets a fresh queue directory under {@link Settings#workDir()}, deleted right after,
 * so disk use stays near one budget's worth. An unrecorded warm-up round (a quarter of the time
 * and bytes) precedes each throughput measurement so the JIT has compiled the peer's hot path.
 */
public final class BenchSuite {

    /**
     * What to run.
     *
     * @param peers          the queues, bigqueue first so ratios have a base.
     * @param sizes          message sizes in bytes for the throughput phases.
     * @param phaseNs        longest time for each write, read and latency phase.
     * @param budgetBytes    most payload bytes one write phase writes.
     * @param latencyBytes   message size of the latency phase.
     * @param latencyRate    messages per second in the latency phase (0 = skip it).
     * @param latencyRounds  latency runs per peer, the peers taking turns; each gets the phase time
     *                       divided by the rounds (at least 100 ms).
     * @param throughputRounds write/read/drain runs per peer and size, the peers taking turns; the
     *                       results keep each figure's median run.
     * @param workDir        where the queue directories go.
     * @param syncOnWrite    bigqueue syncs every enqueue, as Tape always does.
     * @param flushIntervalMs bigqueue's periodic flush in ms (-1: its default; 0: off, as the peers run).
     */
    public record Settings(List<PeerType> peers, List<Integer> sizes, long phaseNs, long budgetBytes,
                           int latencyBytes, long latencyRate, int latencyRounds, int throughputRounds,
                           Path workDir, boolean syncOnWrite, long flushIntervalMs) {
    }

    /** Receives a line for each step, and the fraction of the steps done. */
    public interface Progress {
        void step(int done, int total, String what);
    }

    /** Everything measured. */
    public record Results(Settings settings, List<ThroughputResult> throughput, List<LatencyResult> latency,
                          List<String> notes, long elapsedNs) {
    }

    private final Settings settings;
    private final Progress progress;
    private int run;

    public BenchSuite(Settings settings, Progress progress) {
        this.settings = settings;
        this.progress = progress;
    }

    /** Runs every measurement in turn. */
    public Results run() throws InterruptedException {
        long started = System.nanoTime();
        List<ThroughputResult> throughput = new ArrayList<>();
        List<LatencyResult> latency = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        int total = settings.sizes().size() * settings.peers().size() * settings.throughputRounds()
                + (settings.latencyRate() > 0 ? settings.peers().size() * settings.latencyRounds() : 0);
        int done = runThroughputRounds(throughput, notes, total);
        if (settings.latencyRate() > 0) {
            done = runLatencyRounds(latency, notes, done, total);
        }
        progress.step(total, total, "done");
        return new Results(settings, throughput, latency, notes, System.nanoTime() - started);
    }

    /**
     * The write, read and drain phases: for each size, every peer once per round, the order turning
     * each round (as in the latency phase), each peer's first run after an unrecorded warm-up run
     * of a quarter of the time (at least 150 ms) and of the bytes. Each figure is the median of its
     * rounds by messages per second; the notes list every round where there are several.
     */
    private int runThroughputRounds(List<ThroughputResult> throughput, List<String> notes, int total) {
        List<PeerType> peers = settings.peers();
        int rounds = settings.throughputRounds();
        int done = 0;
        for (int size : settings.sizes()) {
            Map<String, List<ThroughputResult>> byFigure = new LinkedHashMap<>();
            for (int round = 0; round < rounds; round++) {
                for (int k = 0; k < peers.size(); k++) {
                    PeerType peer = peers.get((k + round) % peers.size());
                    progress.step(done, total, "write+read " + Units.bytes(size) + " " + peer.label()
                            + (rounds > 1 ? ", round " + (round + 1) + " of " + rounds : ""));
                    try {
                        if (round == 0) {
                            new ThroughputRun(freshDir(peer), peer, size,
                                    Math.max(TimeUnit.MILLISECONDS.toNanos(150), settings.phaseNs() / 4),
                                    Math.max(size, settings.budgetBytes() / 4), settings.syncOnWrite())
                                    .withFlushIntervalMs(settings.flushIntervalMs()).run();
                            deleteRunDirs(notes);
                        }
                        for (ThroughputResult r : new ThroughputRun(freshDir(peer), peer, size, settings.phaseNs(),
                                settings.budgetBytes(), settings.syncOnWrite())
                                .withFlushIntervalMs(settings.flushIntervalMs()).run()) {
                            byFigure.computeIfAbsent(peer.ordinal() + " " + r.operation(), f -> new ArrayList<>())
                                    .add(r);
                        }
                    } catch (RuntimeException | LinkageError | AssertionError | InternalError e) {
                        // A peer that fails on this JDK (Chronicle on 25: an AssertionError) or on this disk
                        // (a full one: InternalError from a mapped write) fails its run only.
                        notes.add(peer.label() + " " + Units.bytes(size) + " throughput failed in round "
                                + (round + 1) + ": " + describe(e));
                    } finally {
                        deleteRunDirs(notes);
                    }
                    done++;
                }
            }
            for (PeerType peer : peers) {
                StringBuilder line = new StringBuilder(peer.label() + " " + Units.bytes(size)
                        + " M msg/s by round:");
                for (String operation : ThroughputRun.OPERATIONS) {
                    List<ThroughputResult> runs = byFigure.get(peer.ordinal() + " " + operation);
                    if (runs == null) {
                        continue;
                    }
                    List<ThroughputResult> sorted = new ArrayList<>(runs);
                    sorted.sort(Comparator.comparingDouble(ThroughputResult::messagesPerSecond));
                    throughput.add(sorted.get((sorted.size() - 1) / 2));
                    line.append(' ').append(operation);
                    for (ThroughputResult r : runs) {
                        line.append(' ').append(Units.decimal(r.messagesPerSecond() / 1e6));
                    }
                    line.append(';');
                }
                if (rounds > 1 && line.charAt(line.length() - 1) == ';') {
                    notes.add(line.append(" (the tables show each median)").toString());
                }
            }
        }
        return done;
    }

    /**
     * The latency phase: a warm-up run of every peer, then every peer once per round, the order
     * turning each round so that no peer always runs first or last (a shared machine's load
     * drifts). Each peer's result is its median run by p99; one bad moment on the machine then
     * moves no peer's figure.
     */
    private int runLatencyRounds(List<LatencyResult> latency, List<String> notes, int done, int total)
            throws InterruptedException {
        List<PeerType> peers = settings.peers();
        int rounds = settings.latencyRounds();
        long measuredNs = Math.max(Math.min(settings.phaseNs(), TimeUnit.MILLISECONDS.toNanos(100)),
                settings.phaseNs() / rounds);
        long warmupNs = Math.min(TimeUnit.SECONDS.toNanos(1), settings.phaseNs() / 2);
        Map<PeerType, List<LatencyResult>> byPeer = new LinkedHashMap<>();
        // Round 0, not recorded: the JIT compiles each peer's producer and consumer loops while
        // they run, and in the first latency run that alone put milliseconds on every peer's p99.
        for (PeerType peer : peers) {
            progress.step(done, total, "latency warm-up " + peer.label());
            try {
                new LatencyRun(freshDir(peer), peer, settings.latencyBytes(), settings.latencyRate(),
                        Math.min(measuredNs, TimeUnit.MILLISECONDS.toNanos(100)), warmupNs,
                        settings.syncOnWrite())
                            .withFlushIntervalMs(settings.flushIntervalMs()).run();
            } catch (RuntimeException | LinkageError | AssertionError | InternalError e) {
                notes.add(peer.label() + " latency warm-up failed: " + describe(e));
            } finally {
                deleteRunDirs(notes);
            }
        }
        for (int round = 0; round < rounds; round++) {
            for (int k = 0; k < peers.size(); k++) {
                PeerType peer = peers.get((k + round) % peers.size());
                progress.step(done, total, "latency " + Units.bytes(settings.latencyBytes()) + " at "
                        + Units.count(settings.latencyRate()) + " msg/s " + peer.label() + ", round " + (round + 1)
                        + " of " + rounds);
                try {
                    LatencyResult result = new LatencyRun(freshDir(peer), peer, settings.latencyBytes(),
                            settings.latencyRate(), measuredNs, warmupNs, settings.syncOnWrite())
                            .withFlushIntervalMs(settings.flushIntervalMs()).run();
                    byPeer.computeIfAbsent(peer, p -> new ArrayList<>()).add(result);
                    if (!result.keptUp()) {
                        notes.add(peer.label() + " did not keep up with " + Units.count(settings.latencyRate())
                                + " msg/s in round " + (round + 1) + ": sent " + Units.count(result.sent()) + " of "
                                + Units.count(result.planned()) + " scheduled messages, received "
                                + Units.count(result.received()));
                    }
                } catch (RuntimeException | LinkageError | AssertionError | InternalError e) {
                    notes.add(peer.label() + " latency failed in round " + (round + 1) + ": " + describe(e));
                } finally {
                    deleteRunDirs(notes);
                }
                done++;
            }
        }
        for (PeerType peer : peers) {
            List<LatencyResult> runs = byPeer.get(peer);
            if (runs == null) {
                continue;
            }
            List<LatencyResult> sorted = new ArrayList<>(runs);
            sorted.sort(Comparator.comparingDouble(r -> r.percentileMicros(99)));
            latency.add(sorted.get((sorted.size() - 1) / 2));
            if (runs.size() > 1) {
                StringBuilder line = new StringBuilder(peer.label() + " latency p99 by round:");
                for (LatencyResult r : runs) {
                    line.append(' ').append(Units.decimal(r.percentileMicros(99))).append(" µs");
                }
                notes.add(line.append(" (the table shows the median)").toString());
            }
        }
        return done;
    }

    private Path freshDir(PeerType peer) {
        Path dir = settings.workDir().resolve("run-" + (run++) + "-" + peer.label());
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create benchmark directory " + dir.toAbsolutePath(), e);
        }
        return dir;
    }

    /**
     * Deletes the runs' directories. It runs in {@code finally}: a failure here becomes a note, so
     * it never replaces the run's own error, and the next run still gets a fresh directory.
     */
    private void deleteRunDirs(List<String> notes) {
        try (var entries = Files.list(settings.workDir())) {
            for (Path dir : (Iterable<Path>) entries::iterator) {
                if (dir.getFileName().toString().startsWith("run-")) {
                    deleteTree(dir);
                }
            }
        } catch (IOException | UncheckedIOException e) {
            notes.add("cannot clean benchmark directory " + settings.workDir().toAbsolutePath() + ": " + e
                    + "; later runs may find less free space");
        }
    }

    /** A failure for the notes; a fault in a mapped write gets its likely cause. */
    private static String describe(Throwable e) {
        // LatencyRun hands on its threads' failures wrapped, so look one level down too.
        return e instanceof InternalError || e.getCause() instanceof InternalError
                ? e + " (a fault writing a memory-mapped file: most often the disk is full; see --budget, --dir)"
                : e.toString();
    }

    /**
     * About the most bytes one measurement puts on disk, the largest of the runs: each run's
     * directory is deleted before the next starts. A throughput run writes up to the budget (the
     * warm-up a quarter of it), each message framed as bigqueue frames it (the largest header of
     * the peers), into 128 MiB arenas of which bigqueue may hold a partly filled one and the next,
     * preallocated; the raw peer maps a buffer of the budget's capacity, written as it fills. A
     * latency run writes its planned messages, as {@link LatencyRun} sizes them.
     */
    public static long diskNeeded(Settings s) {
        long need = 0;
        for (int size : s.sizes()) {
            need = Math.max(need, runBytes(s.peers(), s.budgetBytes(), size, s.syncOnWrite()));
        }
        if (s.latencyRate() > 0) {
            long measuredNs = Math.max(Math.min(s.phaseNs(), TimeUnit.MILLISECONDS.toNanos(100)),
                    s.phaseNs() / s.latencyRounds());
            long warmupNs = Math.min(TimeUnit.SECONDS.toNanos(1), s.phaseNs() / 2);
            long planned = (long) ((warmupNs + measuredNs) / 1e9 * s.latencyRate()) + 1;
            need = Math.max(need, runBytes(s.peers(), planned * (s.latencyBytes() + 8L), s.latencyBytes(),
                    s.syncOnWrite()));
        }
        return need;
    }

    private static long runBytes(List<PeerType> peers, long payloadBytes, int messageBytes, boolean sync) {
        long records = Math.max(1, payloadBytes / Math.max(1, messageBytes)) + 1;
        long framed = records * FileFormat.recordBytes(messageBytes);
        long need = framed + 2 * QueueConfig.DEFAULT_ARENA_SIZE;
        if (peers.contains(PeerType.RAW_MAPPED)) {
            need = Math.max(need, ThroughputRun.optionsFor(Math.min(payloadBytes, 1L << 30), messageBytes, sync)
                    .rawCapacityBytes());
        }
        return need;
    }

    /** Deletes {@code root} and everything under it; a missing root is fine. */
    public static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                Files.deleteIfExists(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
