package dev.bigqueue.bench;

import org.openjdk.jmh.annotations.Fork;

/**
 * The JMH fork settings of every benchmark that runs Chronicle Queue as a peer: one fork, with the
 * JVM flags Chronicle needs on Java 17 (the same list as
 * {@link dev.bigqueue.bench.peer.ChronicleFlags}, which a test keeps in step). {@code @Fork} is
 * inherited, so the benchmarks extend this class instead of repeating the list; a benchmark that
 * declares its own {@code @Fork} replaces all of it.
 */
@Fork(value = 1, jvmArgsAppend = {
    "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED",
    "--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
    "--add-opens=jdk.compiler/com.sun.tools.javac=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
    "-Dchronicle.analytics.disable=true",
    "-Dchronicle.disk.monitor.disable=true",
    "-Dchronicle.announcer.disable=true",
    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
})
public abstract class ChronicleForkedBenchmark {
}
