package dev.bigqueue.bench.cli;

import dev.bigqueue.bench.peer.PeerType;
import dev.bigqueue.bench.run.BenchSuite;
import dev.bigqueue.bench.run.MachineInfo;
import dev.bigqueue.bench.run.Table;
import dev.bigqueue.bench.run.Units;
import dev.bigqueue.bench.run.WorkloadRun;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bigqueue workload}: the workload that started this family of tools — 40 writers each
 * writing 2,400 records of about 100 KB at one per millisecond while 40 readers read every 2 ms —
 * on bigqueue, Chronicle Queue and Tape, scaled with {@code --scale}.
 */
@Command(name = "workload", mixinStandardHelpOptions = true,
        description = {
            "Many writers on a schedule, many readers polling: 40 writers x 2,400 records of 100 KB at one"
                + " per ms, 40 readers every 2 ms (scale the counts with --scale). Reports writes/s, reads/s and"
                + " latency percentiles per peer.",
            "At --scale 1 that is 9.6 GB per peer: mind the disk and the time."})
final class WorkloadCommand implements Callable<Integer> {

    @Option(names = "--scale", paramLabel = "X", defaultValue = "0.1",
            description = "Multiplies the writer, reader and record counts (default: ${DEFAULT-VALUE}; 1 = the full"
                    + " 40 x 2,400).")
    double scale;

    @Option(names = "--record-size", paramLabel = "SIZE", defaultValue = "100KB",
            description = "Payload bytes per record (default: ${DEFAULT-VALUE}).")
    String recordSize;

    @Option(names = "--peers", paramLabel = "PEER", split = ",",
            description = "bigqueue, chronicle, tape (default: bigqueue,chronicle; tape syncs every record and"
                    + " is slow).")
    List<String> peers;

    @Option(names = "--dir", paramLabel = "DIR", description = "Where to put the queues (default: a temporary"
            + " directory).")
    Path dir;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (!(scale > 0 && scale <= 10)) {
            throw new CliException(CliException.USAGE, "--scale must be more than 0 and at most 10, got " + scale);
        }
        long bytes;
        try {
            bytes = Units.parseBytes(recordSize);
        } catch (IllegalArgumentException e) {
            throw new CliException(CliException.USAGE, "--record-size: " + e.getMessage());
        }
        if (bytes < 16 || bytes > 64L << 20) {
            throw new CliException(CliException.USAGE, "--record-size must be 16 B.." + Units.bytes(64L << 20)
                    + ", got " + recordSize);
        }
        List<PeerType> chosen = new ArrayList<>();
        for (String name : peers == null ? List.of("bigqueue", "chronicle") : peers) {
            PeerType type;
            try {
                type = PeerType.parse(name);
            } catch (IllegalArgumentException e) {
                throw new CliException(CliException.USAGE, "--peers: " + e.getMessage());
            }
            if (type == PeerType.RAW_MAPPED) {
                throw new CliException(CliException.USAGE, "--peers: raw takes one producer only; use bigqueue,"
                        + " chronicle or tape");
            }
            chosen.add(type);
        }
        WorkloadRun.Shape shape = new WorkloadRun.Shape(Math.max(1, (int) Math.round(40 * scale)),
                Math.max(1, (int) Math.round(2400 * scale)), (int) bytes, TimeUnit.MILLISECONDS.toNanos(1),
                Math.max(1, (int) Math.round(40 * scale)), TimeUnit.MILLISECONDS.toNanos(2),
                TimeUnit.SECONDS.toNanos(10));
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        err.println("workload: " + shape.writers() + " writers x " + shape.recordsPerWriter() + " records of "
                + Units.bytes(bytes) + " at 1/ms, " + shape.readers() + " readers every 2 ms; load average "
                + MachineInfo.loadAverage());
        Path parent = dir == null ? Path.of(System.getProperty("java.io.tmpdir")) : dir;
        Path workDir = Files.createTempDirectory(parent, "bigqueue-workload-");
        Table table = new Table("peer", ">writes/s", ">reads/s", ">read of written", ">p50 ms", ">p99 ms",
                ">p99.9 ms", ">max ms");
        try {
            for (PeerType peer : chosen) {
                err.println("workload: " + peer.label() + " ...");
                Path peerDir = workDir.resolve(peer.label());
                WorkloadRun.Result r = new WorkloadRun(peerDir, peer, shape).run();
                BenchSuite.deleteTree(peerDir);
                var h = r.latency();
                boolean any = h.getTotalCount() > 0;
                table.row(peer.label(), Units.decimal(r.writesPerSecond()), Units.decimal(r.readsPerSecond()),
                        Units.count(r.read()) + " of " + Units.count(r.written()),
                        any ? Units.decimal(h.getValueAtPercentile(50) / 1e6) : "-",
                        any ? Units.decimal(h.getValueAtPercentile(99) / 1e6) : "-",
                        any ? Units.decimal(h.getValueAtPercentile(99.9) / 1e6) : "-",
                        any ? Units.decimal(h.getMaxValue() / 1e6) : "-");
            }
        } finally {
            BenchSuite.deleteTree(workDir);
        }
        out.println("Latency: scheduled write time -> read, milliseconds (HdrHistogram).");
        out.print(table.toText());
        return 0;
    }
}
