package dev.bigqueue.bench.peer;

import java.util.List;

/**
 * The JVM flags Chronicle Queue needs on Java 17 (its documented set, plus the opens its
 * memory code uses), and the system properties that stop it phoning home or watching the disk.
 * The {@code bigqueue} launcher, surefire's {@code argLine} and every JMH {@code @Fork} pass the
 * same list; keep them in sync with {@code bigqueue-bench/pom.xml} and the {@code bigqueue} script.
 */
public final class ChronicleFlags {
    /** For {@code @Fork(jvmArgsAppend = ...)}: annotation values must be constants. */
    public static final String[] JVM_FLAGS = {
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
    };

    private ChronicleFlags() {
    }

    /** The flags as a list. */
    public static List<String> jvmFlags() {
        return List.of(JVM_FLAGS);
    }

    /**
     * Whether this JVM was started with the module flags Chronicle needs; without them Chronicle
     * fails at start with an IllegalAccessError deep in its memory code.
     */
    public static boolean present() {
        return java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .anyMatch(arg -> arg.startsWith("--add-exports=java.base/sun.nio.ch")
                        || arg.startsWith("--add-exports java.base/sun.nio.ch"));
    }

    /**
     * Why Chronicle Queue cannot start in this JVM, or null if it can: the release pinned here
     * (5.23) predates JDK 25, whose {@code FileChannelImpl} lacks the method Chronicle's {@code OS}
     * class looks up when it loads, and fails with an AssertionError there. Loads that class once.
     */
    public static String unusableReason() {
        disableAnalytics();
        try {
            Class.forName("net.openhft.chronicle.core.OS", true, ChronicleFlags.class.getClassLoader());
            return null;
        } catch (ClassNotFoundException | LinkageError | AssertionError | RuntimeException e) {
            Throwable cause = e;
            while (cause.getCause() != null && cause.getCause() != cause) {
                cause = cause.getCause();
            }
            return "Chronicle Queue does not start on JDK " + Runtime.version().feature() + " (" + cause + ")";
        }
    }

    /** Sets the properties that keep Chronicle quiet, in case the JVM was started without them. */
    static void disableAnalytics() {
        System.setProperty("chronicle.analytics.disable", "true");
        System.setProperty("chronicle.disk.monitor.disable", "true");
        System.setProperty("chronicle.announcer.disable", "true");
    }
}
