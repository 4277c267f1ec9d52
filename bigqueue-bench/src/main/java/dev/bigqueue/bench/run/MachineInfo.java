package dev.bigqueue.bench.run;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The machine a run happened on, printed beside its numbers: CPU, cores, memory, OS, JDK, the
 * file system of the work directory, and the OS limits a queue with many arenas runs into first
 * ({@code vm.max_map_count}, open files).
 */
public final class MachineInfo {
    private MachineInfo() {
    }

    /** One "name: value" line per fact. */
    public static List<String> describe(Path workDir) {
        List<String> lines = new ArrayList<>();
        lines.add("cpu: " + cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " cores available");
        long memory = totalMemoryBytes();
        lines.add("memory: " + (memory > 0 ? Units.bytesApprox(memory) : "unknown")
                + "; JVM max heap " + Units.bytesApprox(Runtime.getRuntime().maxMemory()));
        lines.add("os: " + System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch"));
        lines.add("jdk: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version")
                + " (" + System.getProperty("java.vendor") + ")");
        lines.add("jvm flags: " + String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments()
                .stream().filter(a -> !a.startsWith("--add-")).toList()));
        lines.add("work dir: " + workDir.toAbsolutePath() + " (" + fileSystem(workDir) + ")");
        lines.add("vm.max_map_count: " + firstLine(Path.of("/proc/sys/vm/max_map_count")));
        lines.add("open files limit: " + openFilesLimit());
        lines.add("load average (1, 5, 15 min) when the report was written: " + loadAverage()
                + " (other work on the machine skews every figure)");
        return lines;
    }

    /** One line for a chart: the JDK, the CPU and its cores. */
    public static String summary() {
        return "JDK " + System.getProperty("java.runtime.version") + " (" + System.getProperty("java.vendor") + "), "
                + cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " cores";
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.toLowerCase(Locale.ROOT).startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux, or not readable.
        }
        return System.getProperty("os.arch");
    }

    private static long totalMemoryBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux, or not readable.
        }
        return -1;
    }

    private static String fileSystem(Path dir) {
        try {
            var store = Files.getFileStore(dir);
            return store.type() + ", " + Units.bytesApprox(store.getUsableSpace()) + " free";
        } catch (IOException | RuntimeException e) {
            return "unknown file system";
        }
    }

    private static String openFilesLimit() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
                if (line.startsWith("Max open files")) {
                    String[] parts = line.substring("Max open files".length()).trim().split("\\s+");
                    return parts[0] + " (soft), " + parts[1] + " (hard)";
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux, or not readable.
        }
        return "unknown";
    }

    /** The 1-minute load average, or -1 if unknown. */
    public static double loadAverage1() {
        try {
            return Double.parseDouble(firstLine(Path.of("/proc/loadavg")).split("\\s+")[0]);
        } catch (RuntimeException e) {
            return -1;
        }
    }

    /** The 1, 5 and 15 minute load averages, or "unknown". */
    public static String loadAverage() {
        String line = firstLine(Path.of("/proc/loadavg"));
        String[] parts = line.split("\\s+");
        return parts.length >= 3 ? parts[0] + ", " + parts[1] + ", " + parts[2] : line;
    }

    private static String firstLine(Path file) {
        try {
            return Files.readAllLines(file).get(0).trim();
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }
}
