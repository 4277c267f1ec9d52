package dev.bigqueue.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Every JMH benchmark runs once, briefly, in the default build, so that none can rot: one
 * measurement iteration of 100 ms, no warm-up, in this JVM (no fork), on bigqueue and the raw peer
 * with small parameters (Chronicle needs the flags of its forked JVM; {@code ./bigqueue jmh} runs it).
 * The figures mean nothing here; the test checks that each benchmark method ran and produced a score.
 */
class JmhSmokeTest {
    static Stream<Arguments> benchmarks() {
        return Stream.of(
                Arguments.of("EnqueueBenchmark", Map.of("peer", "BIGQUEUE,RAW_MAPPED", "messageSize", "128",
                        "arenaSize", "16777216")),
                Arguments.of("DequeueBenchmark", Map.of("peer", "BIGQUEUE,RAW_MAPPED", "messageSize", "128",
                        "arenaSize", "16777216")),
                Arguments.of("LatencyBenchmark", Map.of("peer", "BIGQUEUE", "rate", "10000", "seconds", "0.2")),
                Arguments.of("MultiProducerBenchmark", Map.of("peer", "BIGQUEUE")),
                Arguments.of("GroupCommitBenchmark", Map.of("durability", "FLUSH_10MS")),
                Arguments.of("WhenDurableBenchmark", Map.of()),
                Arguments.of("MessageHeaderBenchmark", Map.of()),
                Arguments.of("NamedConsumersBenchmark", Map.of("consumers", "4", "messages", "20000")),
                Arguments.of("OpenBenchmark", Map.of("dataBytes", "16777216")),
                Arguments.of("ArenaPoolBenchmark", Map.of("messageSize", "128", "arenaPool", "0,2",
                        "arenaSize", "16777216")),
                Arguments.of("ChecksumFloorBenchmark", Map.of("messageSize", "128")));
    }

    /** A benchmark added without a line above would never run here: JMH's own list says which exist. */
    @Test
    void everyBenchmarkIsListed() throws IOException {
        Set<String> listed = benchmarks().map(a -> (String) a.get()[0]).collect(Collectors.toSet());
        Set<String> compiled = new TreeSet<>();
        try (InputStream in = JmhSmokeTest.class.getResourceAsStream("/META-INF/BenchmarkList")) {
            assertNotNull(in, "META-INF/BenchmarkList is missing: the JMH annotation processor did not run");
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                String[] words = line.split(" ");
                if (words.length > 3 && words[0].equals("JMH")) {
                    compiled.add(words[3].substring(words[3].lastIndexOf('.') + 1));
                }
            }
        }
        assertFalse(compiled.isEmpty(), "META-INF/BenchmarkList names no benchmark");
        compiled.removeAll(listed);
        assertEquals(Set.of(), compiled, "benchmarks missing from JmhSmokeTest.benchmarks()");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("benchmarks")
    void runsAndScores(String benchmark, Map<String, String> params) throws RunnerException {
        ChainedOptionsBuilder options = new OptionsBuilder()
                .include("dev\\.bigqueue\\.bench\\." + benchmark + "\\.")
                .forks(0)
                .warmupIterations(0)
                .measurementIterations(1)
                .measurementTime(TimeValue.milliseconds(100))
                .shouldFailOnError(true)
                .verbosity(org.openjdk.jmh.runner.options.VerboseMode.SILENT);
        params.forEach((name, values) -> options.param(name, values.split(",")));
        Collection<RunResult> results = new Runner(options.build()).run();
        assertFalse(results.isEmpty(), benchmark + " ran nothing");
        for (RunResult r : results) {
            assertFalse(r.getPrimaryResult().getSampleCount() == 0, r.getParams().getBenchmark() + " has no score");
            System.out.printf("%s %s: %.1f %s%n", r.getParams().getBenchmark(), r.getParams().getParamsKeys().stream()
                    .map(k -> k + "=" + r.getParams().getParam(k)).toList(), r.getPrimaryResult().getScore(),
                    r.getPrimaryResult().getScoreUnit());
        }
    }
}
