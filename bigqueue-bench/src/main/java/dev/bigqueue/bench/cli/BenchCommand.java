package dev.bigqueue.bench.cli;

import dev.bigqueue.QueueConfig;
import dev.bigqueue.bench.peer.ChronicleFlags;
import dev.bigqueue.bench.peer.PeerType;
import dev.bigqueue.bench.run.BenchChart;
import dev.bigqueue.bench.run.BenchReport;
import dev.bigqueue.bench.run.BenchSuite;
import dev.bigqueue.bench.run.MachineInfo;
import dev.bigqueue.bench.run.Units;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bigqueue bench}: the side-by-side comparison of bigqueue with Chronicle Queue, Tape and
 * the raw memcpy limit, in about a minute, on a temporary directory. Prints the tables and writes a
 * Markdown report (and a PNG chart) to {@code ./bench-report/}.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {
            "Compare bigqueue with Chronicle Queue, Tape and the raw memcpy limit: write and read"
                + " throughput per message size (read: one message per call; drain: batches of 256, bigqueue's"
                + " drainTo), then producer-to-consumer latency at a fixed rate.",
            "Takes about a minute with the defaults (--quick: about 15 s). Writes a Markdown report and a PNG chart"
                + " to --report-dir."})
final class BenchCommand implements Callable<Integer> {

    @Option(names = "--duration", paramLabel = "SECONDS", description = "Longest time of each write, read and"
            + " latency phase (default: ${DEFAULT-VALUE}; --quick: 0.5).", defaultValue = "2")
    double durationSeconds;

    @Option(names = "--sizes", paramLabel = "SIZE", split = ",",
            description = "Message sizes for the throughput phases, e.g. 128,4KB,128KB (default: 128,4KB).")
    List<String> sizes;

    @Option(names = "--peers", paramLabel = "PEER", split = ",",
            description = "Queues to compare: bigqueue, chronicle, tape, raw (default: all).")
    List<String> peers;

    @Option(names = "--dir", paramLabel = "DIR", description = "Where to put the queues under test (default: a new"
            + " temporary directory). A subdirectory is made there and deleted afterwards.")
    Path dir;

    @Option(names = "--budget", paramLabel = "SIZE", description = "Most payload bytes one write phase writes"
            + " (default: 1GB; --quick: 256MB).")
    String budget;

    @Option(names = "--rate", paramLabel = "MSG/S", description = "Message rate of the latency phase; 0 skips it"
            + " (default: ${DEFAULT-VALUE}).", defaultValue = "100000")
    long rate;

    @Option(names = "--flush-interval", paramLabel = "MS", description = "bigqueue's periodic flush (flushInterval)"
            + " in milliseconds; 0 turns it off, as Chronicle and raw run; -1 keeps bigqueue's default, 1000"
            + " (default: ${DEFAULT-VALUE}).", defaultValue = "-1")
    long flushIntervalMs;

    @Option(names = "--latency-rounds", paramLabel = "N", description = "Latency runs per peer, the peers taking"
            + " turns; the table shows each peer's median run by p99, the notes every run (default:"
            + " ${DEFAULT-VALUE}). The phase time is shared among the rounds.", defaultValue = "3")
    int latencyRounds;

    @Option(names = "--rounds", paramLabel = "N", description = "Write, read and drain runs per peer and size, the"
            + " peers taking turns; the table shows each figure's median run, the notes every run (default:"
            + " ${DEFAULT-VALUE}). Each round takes the full phase times.", defaultValue = "1")
    int rounds;

    @Option(names = "--latency-size", paramLabel = "SIZE", description = "Message size of the latency phase"
            + " (default: ${DEFAULT-VALUE}).", defaultValue = "128")
    String latencySize;

    @Option(names = "--quick", description = "A short run: 0.5 s phases, 256MB budget (about 15 s in all).")
    boolean quick;

    @Option(names = "--report-dir", paramLabel = "DIR", description = "Where the Markdown report and the chart go"
            + " (default: ${DEFAULT-VALUE}).", defaultValue = "bench-report")
    Path reportDir;

    @Option(names = "--sync", description = "Run bigqueue with syncOnWrite (every enqueue on disk before it"
            + " returns), to compare like with like against Tape, which syncs every operation.")
    boolean sync;

    @Option(names = "--no-report", description = "Print the tables only; write no files.")
    boolean noReport;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        BenchSuite.Settings settings = settings(err);
        Path workDir = settings.workDir();
        // Ctrl-C: the queues under test are gigabytes; do not leave them behind.
        Thread cleanup = new Thread(() -> {
            try {
                BenchSuite.deleteTree(workDir);
            } catch (IOException | RuntimeException e) {
                // Best effort while the JVM exits.
            }
        }, "bench-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        try (ProgressLine progress = ProgressLine.forStderr(err)) {
            err.println("bigqueue bench: " + settings.peers().stream().map(PeerType::label).toList() + ", sizes "
                    + settings.sizes().stream().map(Units::bytes).toList() + ", phases up to "
                    + Units.seconds(settings.phaseNs()) + ", in " + workDir + "; load average "
                    + MachineInfo.loadAverage());
            int cores = Runtime.getRuntime().availableProcessors();
            if (MachineInfo.loadAverage1() > cores) {
                err.println("bench: warning: load average " + MachineInfo.loadAverage() + " on " + cores
                        + " cores: other work is running, so the figures will swing; compare peers within one run");
            }
            BenchSuite.Results results = new BenchSuite(settings, progress).run();
            progress.close();
            err.println("bench: done in " + progress.elapsed());
            Instant finishedAt = Instant.now();
            BenchReport report = new BenchReport(results, finishedAt,
                    commandLine(spec.commandLine().getParseResult().originalArgs()));
            out.print(report.toText());
            out.flush();
            if (!noReport) {
                writeReport(report, results, workDir, finishedAt, out);
            }
            // PrintWriter swallows write errors (a closed pipe: bench | head): only checkError tells.
            if (out.checkError()) {
                throw new CliException(CliException.FAILED, "cannot write to standard output (a closed pipe or a"
                        + " full disk): the tables were not all printed"
                        + (noReport ? "" : "; the report was written to " + reportDir.toAbsolutePath().normalize()));
            }
            return results.throughput().isEmpty() && results.latency().isEmpty() ? CliException.FAILED : 0;
        } finally {
            deleteWorkDir(workDir, err);
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException e) {
                // Already shutting down.
            }
        }
    }

    /** In {@code finally}: a failure to clean up is a warning, never the run's outcome or error. */
    private static void deleteWorkDir(Path workDir, PrintWriter err) {
        try {
            BenchSuite.deleteTree(workDir);
        } catch (IOException | RuntimeException e) {
            err.println("bench: warning: cannot delete " + workDir + ": " + e + "; delete it by hand");
        }
    }

    private BenchSuite.Settings settings(PrintWriter err) throws IOException {
        if (durationSeconds <= 0 || durationSeconds > 600) {
            throw new CliException(CliException.USAGE, "--duration must be more than 0 and at most 600 seconds, got "
                    + durationSeconds);
        }
        if (flushIntervalMs < -1) {
            throw new CliException(CliException.USAGE, "--flush-interval must be -1 (default), 0 (off) or a number of"
                    + " milliseconds, got " + flushIntervalMs);
        }
        if (rounds < 1 || rounds > 20) {
            throw new CliException(CliException.USAGE, "--rounds must be 1..20, got " + rounds);
        }
        if (latencyRounds < 1 || latencyRounds > 20) {
            throw new CliException(CliException.USAGE, "--latency-rounds must be 1..20, got " + latencyRounds);
        }
        if (rate < 0 || rate > 10_000_000) {
            throw new CliException(CliException.USAGE, "--rate must be 0..10000000 messages per second, got " + rate);
        }
        double seconds = quick && !spec.commandLine().getParseResult().hasMatchedOption("--duration")
                ? 0.5 : durationSeconds;
        long budgetBytes = parseSize("--budget", budget == null ? (quick ? "256MB" : "1GB") : budget);
        if (budgetBytes < 4096 || budgetBytes > (1L << 31) - (64L << 20)) {
            throw new CliException(CliException.USAGE, "--budget must be " + Units.bytes(4096) + ".."
                    + Units.bytes((1L << 31) - (64L << 20)) + ", got " + budget);
        }
        List<Integer> messageSizes = new ArrayList<>();
        for (String size : sizes == null ? List.of("128", "4KB") : sizes) {
            long bytes = parseSize("--sizes", size);
            if (bytes < 1 || bytes > 64L << 20) {
                throw new CliException(CliException.USAGE, "--sizes: each size must be 1 B.." + Units.bytes(64L << 20)
                        + ", got " + size);
            }
            messageSizes.add((int) bytes);
        }
        long latencyBytes = parseSize("--latency-size", latencySize);
        if (latencyBytes < 16 || latencyBytes > 1 << 20) {
            throw new CliException(CliException.USAGE, "--latency-size must be 16 B.." + Units.bytes(1 << 20)
                    + ", got " + latencySize);
        }
        Set<PeerType> chosen = new LinkedHashSet<>();
        chosen.add(PeerType.BIGQUEUE);
        for (String name : peers == null ? List.of("bigqueue", "chronicle", "tape", "raw") : peers) {
            try {
                chosen.add(PeerType.parse(name));
            } catch (IllegalArgumentException e) {
                throw new CliException(CliException.USAGE, "--peers: " + e.getMessage());
            }
        }
        if (peers != null && peers.stream().noneMatch(p -> PeerType.parse(p) == PeerType.BIGQUEUE)) {
            chosen.remove(PeerType.BIGQUEUE);
        }
        if (chosen.contains(PeerType.CHRONICLE) && !ChronicleFlags.present()) {
            chosen.remove(PeerType.CHRONICLE);
            err.println("bench: chronicle skipped: this JVM lacks the flags it needs on Java 17; run through the"
                    + " ./bigqueue launcher, or pass the flags in dev.bigqueue.bench.peer.ChronicleFlags");
        } else if (chosen.contains(PeerType.CHRONICLE) && ChronicleFlags.unusableReason() != null) {
            chosen.remove(PeerType.CHRONICLE);
            err.println("bench: chronicle skipped: " + ChronicleFlags.unusableReason() + "; compare with it on"
                    + " JDK 17 or 21");
        }
        Path parent = dir == null ? Path.of(System.getProperty("java.io.tmpdir")) : dir;
        if (!Files.isDirectory(parent)) {
            throw new CliException(CliException.USAGE, "--dir " + parent.toAbsolutePath() + " is not a directory");
        }
        BenchSuite.Settings planned = new BenchSuite.Settings(List.copyOf(chosen), messageSizes, (long) (seconds * 1e9),
                budgetBytes, (int) latencyBytes, rate, latencyRounds, rounds, parent, sync, flushIntervalMs);
        checkFreeSpace(planned, Files.getFileStore(parent).getUsableSpace());
        Path workDir = Files.createTempDirectory(parent, "bigqueue-bench-");
        return new BenchSuite.Settings(planned.peers(), planned.sizes(), planned.phaseNs(), planned.budgetBytes(),
                planned.latencyBytes(), planned.latencyRate(), planned.latencyRounds(), planned.throughputRounds(),
                workDir, planned.syncOnWrite(), planned.flushIntervalMs());
    }

    /**
     * Refuses to start on a disk that cannot hold the largest run: the peers write through memory
     * maps, and a full disk under a mapped write is a fault (InternalError) mid-run, not an error.
     */
    static void checkFreeSpace(BenchSuite.Settings planned, long usableBytes) {
        long needed = BenchSuite.diskNeeded(planned);
        if (usableBytes < needed) {
            throw new CliException(CliException.USAGE, planned.workDir().toAbsolutePath() + " has "
                    + Units.bytesApprox(usableBytes) + " free, but the largest run needs about "
                    + Units.bytesApprox(needed)
                    + " (--budget " + Units.bytes(planned.budgetBytes()) + " of messages, framed, plus two "
                    + Units.bytes(QueueConfig.DEFAULT_ARENA_SIZE) + " bigqueue arenas): pass a smaller --budget, or"
                    + " --dir on a disk with more free space");
        }
    }

    private static long parseSize(String option, String text) {
        try {
            return Units.parseBytes(text);
        } catch (IllegalArgumentException e) {
            throw new CliException(CliException.USAGE, option + ": " + e.getMessage());
        }
    }

    /**
     * The command as the user typed it, for the report: picocli's original arguments already start
     * with the subcommand's name ({@code bench --quick}).
     */
    static String commandLine(List<String> originalArgs) {
        return String.join(" ", Stream.concat(Stream.of("bigqueue"), originalArgs.stream()).toList());
    }

    private void writeReport(BenchReport report, BenchSuite.Results results, Path workDir, Instant finishedAt,
                             PrintWriter out) throws IOException {
        Files.createDirectories(reportDir);
        String stamp = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").format(finishedAt.atOffset(ZoneOffset.UTC));
        Path markdown = reportDir.resolve("bench-" + stamp + ".md");
        Path chart = reportDir.resolve("bench-" + stamp + ".png");
        boolean charted = BenchChart.write(results, report, BenchChart.header(finishedAt, MachineInfo.summary()),
                chart);
        String text = report.toMarkdown(MachineInfo.describe(workDir));
        if (charted) {
            text += "\n![throughput and latency](" + chart.getFileName() + ")\n";
        }
        Files.writeString(markdown, text, StandardCharsets.UTF_8);
        out.println();
        out.println("report: " + markdown.toAbsolutePath().normalize());
        if (charted) {
            out.println("chart:  " + chart.toAbsolutePath().normalize());
        }
    }
}
