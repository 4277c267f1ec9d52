package dev.bigqueue.bench.run;

import dev.bigqueue.bench.peer.PeerType;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Turns {@link BenchSuite.Results} into the tables {@code bigqueue bench} prints and the Markdown
 * report it writes. Every ratio compares with bigqueue in the same run and is oriented so that a
 * value above 1 means bigqueue did better: throughput is bigqueue ÷ peer, latency is peer ÷ bigqueue.
 */
public final class BenchReport {
    private final BenchSuite.Results results;
    private final Instant finishedAt;
    private final String commandLine;

    public BenchReport(BenchSuite.Results results, Instant finishedAt, String commandLine) {
        this.results = results;
        this.finishedAt = finishedAt;
        this.commandLine = commandLine;
    }

    /** Write, read and drain throughput, one row per operation, size and peer. */
    public Table throughputTable() {
        Table table = new Table("op", ">size", "peer", ">msg/s", ">MB/s", ">ns/msg", ">bigqueue ÷ peer");
        for (String operation : ThroughputRun.OPERATIONS) {
            for (int size : results.settings().sizes()) {
                Optional<ThroughputResult> base = find(operation, size, PeerType.BIGQUEUE);
                for (ThroughputResult r : results.throughput()) {
                    if (!r.operation().equals(operation) || r.messageBytes() != size) {
                        continue;
                    }
                    double ratio = base.map(b -> b.messagesPerSecond() / r.messagesPerSecond()).orElse(Double.NaN);
                    table.row(operation, Units.bytes(size), r.peer().label(), Units.decimal(r.messagesPerSecond()),
                            Units.decimal(r.megabytesPerSecond()), Units.decimal(r.nanosPerMessage()),
                            Units.ratio(ratio));
                }
            }
        }
        return table;
    }

    /** Producer-to-consumer latency percentiles, one row per peer. */
    public Table latencyTable() {
        Table table = new Table("peer", ">p50 µs", ">p99 µs", ">p99.9 µs", ">max µs", ">received",
                ">p99: peer ÷ bigqueue");
        Optional<LatencyResult> base = results.latency().stream().filter(r -> r.peer() == PeerType.BIGQUEUE)
                .findFirst();
        for (LatencyResult r : results.latency()) {
            double ratio = base.map(b -> r.percentileMicros(99) / b.percentileMicros(99)).orElse(Double.NaN);
            table.row(r.peer().label(), Units.decimal(r.percentileMicros(50)),
                    Units.decimal(r.percentileMicros(99)), Units.decimal(r.percentileMicros(99.9)),
                    Units.decimal(r.maxMicros()),
                    Units.count(r.received()) + (r.keptUp() ? "" : " of " + Units.count(r.planned())),
                    Units.ratio(ratio));
        }
        return table;
    }

    /**
     * One sentence for each peer that has no comparable latency figure: it did not keep up with the
     * rate in its median round (its percentiles, measured from the schedule, then mostly show the
     * backlog), or its run failed. The chart draws no bar for such peers and prints these sentences.
     */
    public List<String> latencyGaps() {
        List<String> gaps = new ArrayList<>();
        if (results.settings().latencyRate() <= 0) {
            return gaps;
        }
        for (PeerType peer : results.settings().peers()) {
            Optional<LatencyResult> result = results.latency().stream().filter(r -> r.peer() == peer).findFirst();
            if (result.isEmpty()) {
                gaps.add(peer.label() + ": no latency figure, its run failed (see the notes)");
            } else if (!result.get().keptUp()) {
                LatencyResult r = result.get();
                gaps.add(peer.label() + " did not keep up with " + Units.count(r.ratePerSecond()) + " msg/s (received "
                        + Units.count(r.received()) + " of " + Units.count(r.planned()) + "): its percentiles"
                        + " measure its backlog, no bar");
            }
        }
        return gaps;
    }

    /** How each figure was chosen: "one run" or "median of N rounds". */
    public static String throughputRounds(BenchSuite.Settings settings) {
        return settings.throughputRounds() > 1 ? "median of " + settings.throughputRounds() + " rounds" : "one run";
    }

    /** How each latency row was chosen: "one run" or "median round of N by p99". */
    public static String latencyRounds(BenchSuite.Settings settings) {
        return settings.latencyRounds() > 1 ? "median round of " + settings.latencyRounds() + " by p99" : "one run";
    }

    private Optional<ThroughputResult> find(String operation, int size, PeerType peer) {
        return results.throughput().stream()
                .filter(r -> r.operation().equals(operation) && r.messageBytes() == size && r.peer() == peer)
                .findFirst();
    }

    private String latencyTitle() {
        return "Latency, producer thread -> consumer thread, " + Units.bytes(results.settings().latencyBytes())
                + " messages at " + Units.count(results.settings().latencyRate()) + " msg/s, measured from each"
                + " message's scheduled send time (HdrHistogram; " + latencyRounds(results.settings()) + ")";
    }

    private String throughputTitle() {
        return "Throughput, one thread, each phase up to the time budget (" + throughputRounds(results.settings())
                + "; MB = 10^6 payload bytes; ratio > 1: bigqueue is faster; read: half of what was written, one"
                + " message per call; drain: the other half in batches of 256, by drainTo where the queue has one)";
    }

    /** The terminal version. */
    public String toText() {
        StringBuilder out = new StringBuilder();
        // No leading blank line: the tables start the output (bench | head -1 shows the title).
        if (results.settings().syncOnWrite()) {
            out.append("bigqueue ran with syncOnWrite: every enqueue was on disk before it returned.\n");
        }
        out.append(throughputTitle()).append('\n');
        out.append(throughputTable().toText());
        if (!results.latency().isEmpty()) {
            out.append('\n').append(latencyTitle()).append(" (ratio > 1: bigqueue is faster)\n");
            out.append(latencyTable().toText());
            for (String gap : latencyGaps()) {
                out.append("  ").append(gap).append('\n');
            }
        }
        for (String note : results.notes()) {
            out.append("note: ").append(note).append('\n');
        }
        return out.toString();
    }

    /** The Markdown report: the command, the machine, both tables, and what they measure. */
    public String toMarkdown(List<String> machine) {
        BenchSuite.Settings s = results.settings();
        StringBuilder out = new StringBuilder();
        out.append("# bigqueue bench, ")
                .append(DateTimeFormatter.ISO_LOCAL_DATE_TIME.format(finishedAt.atOffset(ZoneOffset.UTC).withNano(0)))
                .append(" UTC\n\n");
        out.append("Command: `").append(commandLine).append("`  \n");
        if (s.syncOnWrite()) {
            out.append("bigqueue ran with `syncOnWrite`: every enqueue was on disk before it returned.  \n");
        }
        out.append("Run time: ").append(Units.seconds(results.elapsedNs())).append("; each phase up to ")
                .append(Units.seconds(s.phaseNs())).append(" and ")
                .append(Units.bytesApprox(s.budgetBytes())).append(" of payload.\n\n");
        out.append("## Machine\n\n");
        for (String line : machine) {
            out.append("- ").append(line).append('\n');
        }
        out.append("\n## ").append(throughputTitle()).append("\n\n");
        out.append(throughputTable().toMarkdown());
        if (!results.latency().isEmpty()) {
            out.append("\n## ").append(latencyTitle()).append("\n\n");
            out.append("Ratio > 1: bigqueue's p99 is lower than the peer's.\n\n");
            out.append(latencyTable().toMarkdown());
            if (!latencyGaps().isEmpty()) {
                out.append('\n');
                for (String gap : latencyGaps()) {
                    out.append("- ").append(gap).append('\n');
                }
            }
        }
        if (!results.notes().isEmpty()) {
            out.append("\n## Notes\n\n");
            for (String note : results.notes()) {
                out.append("- ").append(note).append('\n');
            }
        }
        out.append("\n## What is measured\n\n");
        out.append("- write: one thread enqueues the same random message until the time or byte budget is spent,"
                + " into a fresh queue directory. Nothing is forced to disk, except by Tape, which syncs every"
                + " operation by design (compare it with bigqueue's `syncOnWrite`).\n");
        out.append("- read: the same thread then dequeues every message back (a new `byte[]` each).\n");
        out.append("- raw: length-prefixed memcpy into one pre-mapped buffer, no index, no checksum, no locking;"
                + " the limit of this machine, not a queue.\n");
        out.append("- latency: one producer thread at a fixed rate, one consumer thread spinning on dequeue, both in"
                + " this JVM; latency runs from the scheduled send time, so a stalled producer counts. The"
                + " peers take turns for " + results.settings().latencyRounds() + " round(s) after a warm-up run"
                + " each; each row is that"
                + " peer's median round by p99.\n");
        if (results.settings().flushIntervalMs() >= 0) {
            out.append("- bigqueue ran with flushInterval " + (results.settings().flushIntervalMs() == 0 ? "off"
                    : results.settings().flushIntervalMs() + " ms") + " (its default is 1 s).\n");
        }
        out.append("- A shared 2-core machine makes percentiles swing from run to run: compare peers within one"
                + " run, over several runs.\n");
        return out.toString();
    }
}
