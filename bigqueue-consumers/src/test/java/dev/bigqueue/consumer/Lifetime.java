package dev.bigqueue.consumer;

import dev.bigqueue.testing.Poll;
import java.io.IOException;
import java.lang.management.LockInfo;
import java.lang.management.ManagementFactory;
import java.lang.management.MonitorInfo;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * What a queue leaves behind in this JVM, seen from outside (guarantee 10): threads named
 * {@code bigqueue-*}, mappings of files under its directory in {@code /proc/self/maps}, and the
 * bytes of its files. Also the thread dump (with lock owners) that stall and hang detectors put
 * in their failure messages. Uses nothing but the public API and the JDK, so it keeps working
 * while the core's internals change.
 */
final class Lifetime {
    /** Every thread a queue starts is named so (SPEC, guarantee 10). */
    static final String THREAD_PREFIX = "bigqueue-";
    /** Holds the owner's pid; a lock attempt may rewrite it, so file comparisons leave it out. */
    static final String LOCK_FILE = "queue.lock";

    private Lifetime() {
    }

    /** Live threads named {@code bigqueue-*}. */
    static List<Thread> queueThreads() {
        List<Thread> found = new ArrayList<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.isAlive() && t.getName().startsWith(THREAD_PREFIX)) {
                found.add(t);
            }
        }
        return found;
    }

    /** Live {@code bigqueue-*} threads that are not in {@code before} (threads of other queues). */
    static List<Thread> queueThreadsBesides(java.util.Collection<Thread> before) {
        List<Thread> found = queueThreads();
        found.removeAll(before);
        return found;
    }

    /**
     * Whether {@code t} is inside {@code method} of a class whose name ends with {@code classSuffix}
     * now: for a test that waits for a thread to reach a point (a condition, not a time).
     */
    static boolean isInside(Thread t, String classSuffix, String method) {
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getClassName().endsWith(classSuffix) && e.getMethodName().equals(method)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Waits until {@code condition} holds, looking every few milliseconds ({@link Poll}); fails with
     * a thread dump after {@code hangLimit}, which only tells a hang from progress.
     */
    static void waitUntil(BooleanSupplier condition, String what, Duration hangLimit) {
        try {
            Poll.until(condition, null, hangLimit, () -> "gave up waiting for: " + what + "\n" + threadDump());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for: " + what, e);
        }
    }

    /** The live thread named {@code name}, or null. */
    static Thread liveThread(String name) {
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.isAlive() && t.getName().equals(name)) {
                return t;
            }
        }
        return null;
    }

    /** Names and stacks of {@code threads}, for a failure message. */
    static String describe(List<Thread> threads) {
        StringBuilder s = new StringBuilder();
        for (Thread t : threads) {
            s.append("\n  \"").append(t.getName()).append("\" ").append(t.getState());
            for (StackTraceElement e : t.getStackTrace()) {
                s.append("\n      at ").append(e);
            }
        }
        return s.toString();
    }

    /** Lines of /proc/self/maps naming a file under {@code dir} (empty where there is no /proc). */
    static List<String> mappingsUnder(Path dir) throws IOException {
        Path maps = Path.of("/proc/self/maps");
        if (!Files.isReadable(maps)) {
            return List.of();
        }
        List<String> found = new ArrayList<>();
        for (String prefix : spellings(dir)) {
            for (String line : Files.readAllLines(maps)) {
                if (line.contains(prefix) && !found.contains(line)) {
                    found.add(line);
                }
            }
        }
        return found;
    }

    private static List<String> spellings(Path dir) {
        List<String> s = new ArrayList<>();
        Path abs = dir.toAbsolutePath().normalize();
        s.add(abs + "/");
        try {
            String real = dir.toRealPath() + "/";
            if (!s.contains(real)) {
                s.add(real);
            }
        } catch (IOException gone) {
            // the directory is gone: its absolute spelling is all there is to look for
        }
        return s;
    }

    /**
     * Every entry under {@code dir} but {@link #LOCK_FILE}, by relative path: "dir" for a
     * directory, the bytes (as a list, for equals) for a file.
     */
    static TreeMap<String, Object> contents(Path dir) throws IOException {
        TreeMap<String, Object> entries = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String name = dir.relativize(p).toString();
                if (name.isEmpty() || p.getFileName().toString().equals(LOCK_FILE)) {
                    continue;
                }
                entries.put(name, Files.isDirectory(p) ? "dir" : new Bytes(Files.readAllBytes(p)));
            }
        }
        return entries;
    }

    /** What differs between two {@link #contents} snapshots; empty when nothing does. */
    static String difference(Map<String, Object> before, Map<String, Object> after) {
        StringBuilder s = new StringBuilder();
        for (String name : before.keySet()) {
            if (!after.containsKey(name)) {
                s.append("\n  ").append(name).append(" was removed");
            } else if (!before.get(name).equals(after.get(name))) {
                s.append("\n  ").append(name).append(" changed: ").append(before.get(name)).append(" -> ")
                        .append(after.get(name));
                if (before.get(name) instanceof Bytes && after.get(name) instanceof Bytes) {
                    s.append(", first difference at byte ")
                            .append(((Bytes) before.get(name)).firstDifference((Bytes) after.get(name)));
                }
            }
        }
        for (String name : after.keySet()) {
            if (!before.containsKey(name)) {
                s.append("\n  ").append(name).append(" appeared: ").append(after.get(name));
            }
        }
        return s.toString();
    }

    /**
     * Every thread of this JVM with its whole stack, the monitors and locks it holds, what it
     * waits for and who owns that; deadlocks the JVM can see are listed first.
     */
    static String threadDump() {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        StringBuilder s = new StringBuilder();
        long[] deadlocked = mx.findDeadlockedThreads();
        if (deadlocked != null) {
            s.append("DEADLOCKED thread ids: ").append(Arrays.toString(deadlocked)).append('\n');
        }
        for (ThreadInfo t : mx.dumpAllThreads(mx.isObjectMonitorUsageSupported(),
                mx.isSynchronizerUsageSupported())) {
            s.append('"').append(t.getThreadName()).append("\" #").append(t.getThreadId()).append(' ')
                    .append(t.getThreadState());
            if (t.getLockName() != null) {
                s.append(" on ").append(t.getLockName());
            }
            if (t.getLockOwnerName() != null) {
                s.append(" owned by \"").append(t.getLockOwnerName()).append("\" #").append(t.getLockOwnerId());
            }
            s.append('\n');
            StackTraceElement[] stack = t.getStackTrace();
            for (int i = 0; i < stack.length; i++) {
                s.append("    at ").append(stack[i]).append('\n');
                for (MonitorInfo m : t.getLockedMonitors()) {
                    if (m.getLockedStackDepth() == i) {
                        s.append("      - locked ").append(m).append('\n');
                    }
                }
            }
            LockInfo[] synchronizers = t.getLockedSynchronizers();
            if (synchronizers.length > 0) {
                s.append("    locked synchronizers: ").append(Arrays.toString(synchronizers)).append('\n');
            }
            s.append('\n');
        }
        return s.toString();
    }

    /** A file's bytes with value equality and a short description. */
    private static final class Bytes {
        private final byte[] bytes;

        Bytes(byte[] bytes) {
            this.bytes = bytes;
        }

        int firstDifference(Bytes other) {
            return Arrays.mismatch(bytes, other.bytes);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Bytes && Arrays.equals(bytes, ((Bytes) o).bytes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes);
        }

        @Override
        public String toString() {
            return bytes.length + " bytes, hash " + Integer.toHexString(Arrays.hashCode(bytes));
        }
    }
}
