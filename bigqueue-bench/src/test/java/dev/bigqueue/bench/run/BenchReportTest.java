package dev.bigqueue.bench.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.bench.peer.PeerType;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

/** The report's and the chart's words around the figures, from made-up results. */
class BenchReportTest {
    private static final List<PeerType> PEERS = List.of(PeerType.BIGQUEUE, PeerType.CHRONICLE, PeerType.TAPE);

    private static BenchSuite.Results results(int rounds, int latencyRounds) {
        BenchSuite.Settings settings = new BenchSuite.Settings(PEERS, List.of(128), 1_000_000_000L, 1 << 20, 128,
                100_000, latencyRounds, rounds, Path.of("/tmp"), false, -1);
        List<ThroughputResult> throughput = new ArrayList<>();
        for (PeerType peer : PEERS) {
            for (String op : ThroughputRun.OPERATIONS) {
                throughput.add(new ThroughputResult(peer, op, 128, 1_000_000, 1_000_000_000L));
            }
        }
        List<LatencyResult> latency = new ArrayList<>();
        latency.add(latency(PeerType.BIGQUEUE, 100_000, 100_000));
        latency.add(latency(PeerType.CHRONICLE, 100_000, 100_000));
        latency.add(latency(PeerType.TAPE, 100_000, 1_234));
        return new BenchSuite.Results(settings, throughput, latency, List.of(), 1_000_000_000L);
    }

    private static LatencyResult latency(PeerType peer, long planned, long received) {
        Histogram histogram = new Histogram(3);
        for (long i = 0; i < received; i++) {
            histogram.recordValue(1000 + i % 100);
        }
        return new LatencyResult(peer, 128, 100_000, planned, received, received, histogram);
    }

    private static BenchReport report(BenchSuite.Results results) {
        return new BenchReport(results, Instant.parse("2026-11-22T03:51:00Z"), "bigqueue bench --rounds 3");
    }

    @Test
    void aPeerThatDidNotKeepUpIsNamedNotDropped() {
        BenchSuite.Results results = results(1, 3);
        BenchReport report = report(results);
        assertEquals(List.of("tape did not keep up with 100,000 msg/s (received 1,234 of 100,000): its percentiles"
                + " measure its backlog, no bar"), report.latencyGaps());
        assertTrue(report.toText().contains("tape did not keep up"), report.toText());
        assertTrue(report.toMarkdown(List.of("cpu: test")).contains("- tape did not keep up"));

        BenchChart.Panel latencyPanel = BenchChart.panels(results, report).get(ThroughputRun.OPERATIONS.size());
        assertEquals(List.of("bigqueue", "chronicle"), latencyPanel.bars().stream().map(BenchChart.Bar::label)
                .toList(), "no bar for tape");
        assertEquals(report.latencyGaps(), latencyPanel.missing(), "a line for tape instead");
    }

    /** The tables start the output: {@code bench | head -1} shows the throughput title. */
    @Test
    void theTextStartsWithTheThroughputTitle_noBlankLine() {
        BenchReport report = report(results(1, 1));
        String firstLine = report.toText().lines().findFirst().orElse("");
        assertTrue(firstLine.startsWith("Throughput, one thread"), report.toText());
    }

    @Test
    void aPeerWhoseLatencyRunFailedIsNamed() {
        BenchSuite.Results all = results(1, 1);
        List<LatencyResult> withoutChronicle = all.latency().stream()
                .filter(r -> r.peer() != PeerType.CHRONICLE).toList();
        BenchReport report = report(new BenchSuite.Results(all.settings(), all.throughput(), withoutChronicle,
                List.of(), 1));
        assertTrue(report.latencyGaps().contains("chronicle: no latency figure, its run failed (see the notes)"),
                report.latencyGaps().toString());
    }

    @Test
    void titlesSayHowEachFigureWasChosen() {
        BenchReport medians = report(results(3, 5));
        assertTrue(medians.toText().contains("(median of 3 rounds;"), medians.toText());
        assertTrue(medians.toText().contains("median round of 5 by p99"), medians.toText());
        BenchSuite.Results once = results(1, 1);
        assertTrue(report(once).toText().contains("(one run;"), report(once).toText());
        for (BenchChart.Panel panel : BenchChart.panels(results(3, 5), medians)) {
            assertTrue(panel.title().contains("median"), panel.title());
        }
    }

    @Test
    void chartHeaderHasTheDateAndTheJdk() {
        List<String> header = BenchChart.header(Instant.parse("2026-11-22T03:51:30Z"), MachineInfo.summary());
        assertEquals("bigqueue bench, 2026-11-22 03:51 UTC", header.get(0));
        assertTrue(header.get(1).startsWith("JDK " + System.getProperty("java.runtime.version")), header.get(1));
        assertTrue(header.get(1).endsWith(Runtime.getRuntime().availableProcessors() + " cores"), header.get(1));
    }

    @Test
    void jmhRowsSortSizesAsNumbers() {
        List<String> keys = new ArrayList<>(List.of("Enqueue.enqueue messageSize=16384",
                "Enqueue.enqueue messageSize=128", "Enqueue.enqueue messageSize=4096",
                "Dequeue.dequeue messageSize=4096", "Enqueue.enqueue messageSize=128 [producer]"));
        keys.sort(JmhRatios.NATURAL_ORDER);
        assertEquals(List.of("Dequeue.dequeue messageSize=4096", "Enqueue.enqueue messageSize=128",
                "Enqueue.enqueue messageSize=128 [producer]", "Enqueue.enqueue messageSize=4096",
                "Enqueue.enqueue messageSize=16384"), keys);
        assertTrue(JmhRatios.NATURAL_ORDER.compare("size=01", "size=1") != 0, "a total order: both keys kept");
    }
}
