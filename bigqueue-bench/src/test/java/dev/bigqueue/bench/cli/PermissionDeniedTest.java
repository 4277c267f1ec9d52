package dev.bigqueue.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.consumer.Consumers;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every command that opens a queue reports a permission problem at once, as one (issue 10, finding
 * 8): exit code 5 and a message that says "permission denied" and names the path; never "in use"
 * after waiting out {@code produce --wait}, never "not a queue".
 *
 * <p>The tests run as root, whom file modes do not stop (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so
 * the command runs in a child JVM under {@code setpriv --bounding-set=-all --inh-caps=-all}: still
 * uid 0, the owner of the files, but held to the owner's permission bits like anyone else. Where
 * that is not possible the tests are skipped, saying why.
 */
class PermissionDeniedTest {
    /** Longer than a JVM takes to start on a busy machine; the old code waited all of it. */
    private static final int WAIT_SECONDS = 30;
    private static final Set<String> READ_COMMANDS = Set.of("inspect DIR", "consumers DIR");
    private static final List<String> SETPRIV = List.of("setpriv", "--bounding-set=-all", "--inh-caps=-all");

    /** What runs the child so that file permissions apply to it. */
    private static List<String> unprivileged;

    @TempDir
    Path tmp;

    /** How the queue directory is made inaccessible. */
    enum Damage {
        /** The directory and its files without write permission: a queue owned by another user. */
        READ_ONLY,
        /** The directory with no permissions at all. */
        NO_ACCESS
    }

    @BeforeAll
    static void findUnprivilegedRunner(@TempDir Path probeDir) throws IOException, InterruptedException {
        Path probe = Files.createDirectory(probeDir.resolve("read-only"));
        Files.setPosixFilePermissions(probe, PosixFilePermissions.fromString("r-xr-xr-x"));
        if ("denied".equals(probeWrite(List.of(), probe))) {
            unprivileged = List.of();
            return;
        }
        String withSetpriv = probeWrite(SETPRIV, probe);
        Assumptions.assumeTrue("denied".equals(withSetpriv), "needs a way to run a process that file permissions"
                + " apply to: this JVM may write a read-only directory (it runs as root), and `" + String.join(" ",
                SETPRIV) + " sh` (util-linux setpriv; dropping capabilities needs CAP_SETPCAP) gave: " + withSetpriv);
        unprivileged = SETPRIV;
    }

    /** "writable", "denied", or what went wrong. */
    private static String probeWrite(List<String> prefix, Path dir) throws InterruptedException {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of("sh", "-c", "if test -w \"$0\"; then echo writable; else echo denied; fi", dir.toString()));
        try {
            Process process = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            process.waitFor();
            return out;
        } catch (IOException e) {
            return e.toString();
        }
    }

    static Stream<Arguments> commands() {
        List<String[]> commands = List.of(
                new String[] {"produce", "DIR", "--wait", String.valueOf(WAIT_SECONDS)},
                new String[] {"consume", "DIR", "-c", "app"},
                new String[] {"consume", "DIR", "-c", "app", "--follow"},
                new String[] {"inspect", "DIR"},
                new String[] {"consumers", "DIR"},
                new String[] {"consumers", "DIR", "reset", "app", "--offset", "0"});
        // inspect and consumers (list) open the queue read-only: a queue this user may only read is theirs
        // to look at (readCommands_workOnAQueueThisUserMayOnlyRead).
        return Arrays.stream(Damage.values()).flatMap(damage -> commands.stream()
                .filter(args -> damage == Damage.NO_ACCESS || !READ_COMMANDS.contains(String.join(" ", args)))
                .map(args -> Arguments.of(damage, String.join(" ", args))));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"inspect DIR", "consumers DIR"})
    void readCommands_workOnAQueueThisUserMayOnlyRead(String commandLine) throws Exception {
        Path dir = tmp.resolve("q");
        try (BigQueue queue = BigQueue.open(dir, QueueConfig.builder().arenaSize(64 * 1024).build())) {
            queue.enqueueString("a");
            Consumers.of(queue).open("app").close();
        }
        Path stderr = tmp.resolve("stderr.txt");
        Path stdout = tmp.resolve("stdout.txt");
        deny(dir, Damage.READ_ONLY);
        int exitCode;
        try {
            Process child = CliProcess.builder(unprivileged, stderr, commandLine.replace("DIR", dir.toString())
                    .split(" ")).redirectOutput(stdout.toFile()).start();
            exitCode = CliProcess.exitCode(child, stderr);
        } finally {
            allow(dir);
        }
        assertEquals(0, exitCode, Files.readString(stderr, StandardCharsets.UTF_8));
        assertTrue(Files.readString(stdout, StandardCharsets.UTF_8).contains("app"));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("commands")
    void permissionProblem_isReportedAtOnce_withItsOwnExitCode(Damage damage, String commandLine) throws Exception {
        Path dir = tmp.resolve("q");
        try (BigQueue queue = BigQueue.open(dir, QueueConfig.builder().arenaSize(64 * 1024).build())) {
            queue.enqueueString("a");
        }
        List<String> args = new ArrayList<>();
        for (String arg : commandLine.split(" ")) {
            args.add(arg.equals("DIR") ? dir.toString() : arg);
        }
        Path stderr = tmp.resolve("stderr.txt");
        Path stdout = tmp.resolve("stdout.txt");
        deny(dir, damage);
        long startNs = System.nanoTime();
        int exitCode;
        try {
            Process child = CliProcess.builder(unprivileged, stderr, args.toArray(new String[0]))
                    .redirectOutput(stdout.toFile()).start();
            exitCode = CliProcess.exitCode(child, stderr);
        } finally {
            allow(dir);
        }
        Duration took = Duration.ofNanos(System.nanoTime() - startNs);
        String err = Files.readString(stderr, StandardCharsets.UTF_8);
        assertEquals(CliException.PERMISSION, exitCode, err);
        assertTrue(err.contains("permission denied: " + dir), "names the path: " + err);
        assertFalse(err.contains("in use"), err);
        assertEquals(1, err.lines().count(), "one line: " + err);
        assertEquals(0, Files.size(stdout));
        if (args.contains("--wait")) {
            assertTrue(took.compareTo(Duration.ofSeconds(WAIT_SECONDS)) < 0, "took " + took + ": waited out --wait "
                    + WAIT_SECONDS + " for a permission problem; " + err);
        }
    }

    /**
     * {@code upgrade} and {@code repair} write beside the queue (DIR.upgrading and DIR.v1-TIME;
     * DIR.repair-TIME), in its parent: a parent this user may not write is exit code 5 naming the
     * parent as what to fix. Before, the advice was to run as the owner of DIR, which this user is.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"upgrade", "repair"})
    void upgradeAndRepair_besideAQueueInADirectoryThisUserMayNotWrite_nameThatDirectory(String command)
            throws Exception {
        Path parent = Files.createDirectory(tmp.resolve("parent"));
        Path dir = parent.resolve("q");
        if (command.equals("upgrade")) {
            Files.createDirectories(dir.resolve("consumers"));
            for (String file : new String[] {"queue.meta", "arena-000000000000.dat", "arena-000000000001.dat",
                "arena-000000000002.dat", "consumers/billing.consumer"}) {
                try (InputStream in = PermissionDeniedTest.class.getResourceAsStream("/fixtures/v1-upgrade/" + file)) {
                    Files.copy(in, dir.resolve(file));
                }
            }
        } else {
            try (BigQueue queue = BigQueue.open(dir, QueueConfig.builder().arenaSize(64 * 1024).build())) {
                queue.enqueueString("a");
            }
            // A stray arena file of the wrong size: the repair moves it aside, beside the queue.
            Files.write(dir.resolve("arena-000000000005.dat"), new byte[10]);
        }
        Path stderr = tmp.resolve("stderr.txt");
        Files.setPosixFilePermissions(parent, PosixFilePermissions.fromString("r-xr-xr-x"));
        int exitCode;
        try {
            Process child = CliProcess.builder(unprivileged, stderr, command, dir.toString())
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            exitCode = CliProcess.exitCode(child, stderr);
        } finally {
            Files.setPosixFilePermissions(parent, PosixFilePermissions.fromString("rwx------"));
        }
        String err = Files.readString(stderr, StandardCharsets.UTF_8);
        assertEquals(CliException.PERMISSION, exitCode, err);
        assertTrue(err.contains("permission denied: " + dir) && err.contains("writes beside the queue, in " + parent)
                && err.contains("give this user write access to " + parent), err);
        assertFalse(err.contains("run as the user that owns"), err);
    }

    private static void deny(Path dir, Damage damage) throws IOException {
        if (damage == Damage.NO_ACCESS) {
            Files.setPosixFilePermissions(dir, Set.of());
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                Files.setPosixFilePermissions(file,
                        PosixFilePermissions.fromString(Files.isDirectory(file) ? "r-xr-xr-x" : "r--r--r--"));
            }
        }
    }

    /** Gives the owner every permission back, so that the temporary directory can be deleted. */
    private static void allow(Path dir) throws IOException {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file);
                mode.add(PosixFilePermission.OWNER_READ);
                mode.add(PosixFilePermission.OWNER_WRITE);
                if (Files.isDirectory(file)) {
                    mode.add(PosixFilePermission.OWNER_EXECUTE);
                }
                Files.setPosixFilePermissions(file, mode);
            }
        }
    }
}
