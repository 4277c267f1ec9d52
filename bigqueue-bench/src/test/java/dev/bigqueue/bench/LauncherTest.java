package dev.bigqueue.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The top-level {@code ./bigqueue} launcher: an executable POSIX shell script that builds its jar
 * showing a line per module, and runs it with the flags the JDK needs. The behaviour tests run a
 * copy of the script beside a fake {@code mvnw} (which prints what Maven prints and makes the jar)
 * and a fake {@code java} (which says its version and echoes its arguments), with stdout and
 * stderr going to files, as in a pipe.
 */
class LauncherTest {
    private static final Path LAUNCHER = Path.of("..", "bigqueue");

    @TempDir
    Path tmp;

    @Test
    void launcherIsExecutableAndParses() throws Exception {
        assertTrue(Files.isExecutable(LAUNCHER), LAUNCHER.toAbsolutePath() + " must be executable");
        Process sh = new ProcessBuilder("sh", "-n", LAUNCHER.toString()).redirectErrorStream(true).start();
        String output = new String(sh.getInputStream().readAllBytes());
        assertEquals(0, sh.waitFor(), "sh -n " + LAUNCHER + ": " + output);
    }

    @Test
    void launcherBuildsTheJarItRuns() throws Exception {
        String script = Files.readString(LAUNCHER);
        assertTrue(script.contains("bigqueue-bench/target/bigqueue.jar"), script);
        assertTrue(script.contains("./mvnw -B -DskipTests"), script);
        assertTrue(script.contains("-pl bigqueue-bench -am package"), script);
    }

    record Run(int exitCode, String stdout, String stderr) {
    }

    /** A repository with the launcher, a fake mvnw that exits with {@code mavenExit}, and a fake JDK. */
    private Path fakeRepository(int mavenExit) throws IOException {
        Path root = Files.createDirectories(tmp.resolve("repo"));
        Files.copy(LAUNCHER, root.resolve("bigqueue"));
        Files.writeString(root.resolve("pom.xml"), "<project/>\n");
        Files.createDirectories(root.resolve("bigqueue-bench/src/main"));
        Files.writeString(root.resolve("bigqueue-bench/pom.xml"), "<project/>\n");
        executable(root.resolve("mvnw"), "#!/bin/sh\n"
                + "echo '[INFO] Scanning for projects...'\n"
                + "echo 'Downloading from central: https://repo.maven.apache.org/maven2/a.pom'\n"
                + "echo 'Downloaded from central: https://repo.maven.apache.org/maven2/a.pom (1 kB at 2 kB/s)'\n"
                + "echo 'Downloading from central: https://repo.maven.apache.org/maven2/b.pom'\n"
                + "echo '[INFO] Building bigqueue 0.1.0-SNAPSHOT                                  [1/2]'\n"
                + "echo '[INFO] --------------------------------[ pom ]---------------------------------'\n"
                + "echo '[INFO] Building bigqueue-bench 0.1.0-SNAPSHOT                            [2/2]'\n"
                + "echo '[INFO] --- compiler:3.13.0:compile (default-compile) @ bigqueue-bench ---'\n"
                + (mavenExit == 0
                    ? "mkdir -p bigqueue-bench/target && echo jar > bigqueue-bench/target/bigqueue.jar\n"
                        + "echo '[INFO] BUILD SUCCESS'\n"
                    : "echo '[ERROR] /x/Main.java:[3,1] class, interface, enum, or record expected'\n"
                        + "echo '[INFO] BUILD FAILURE'\n")
                + "exit " + mavenExit + "\n");
        return root;
    }

    /** A JDK whose java says {@code version "<version>"} to -version and prints its arguments otherwise. */
    private Path fakeJdk(String version) throws IOException {
        Path home = tmp.resolve("jdk-" + version);
        Files.createDirectories(home.resolve("bin"));
        executable(home.resolve("bin/java"), "#!/bin/sh\n"
                + "if [ \"$1\" = -version ]; then\n"
                + "  echo 'openjdk version \"" + version + "\" 2025-09-16' >&2; exit 0\n"
                + "fi\n"
                + "for a in \"$@\"; do echo \"$a\"; done\n");
        return home;
    }

    private static void executable(Path file, String text) throws IOException {
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private Run run(Path root, Path javaHome, String... args) throws Exception {
        return runWithJavaOpts(root, javaHome, null, args);
    }

    private Run runWithJavaOpts(Path root, Path javaHome, String javaOpts, String... args) throws Exception {
        String[] command = new String[args.length + 2];
        command[0] = "sh";
        command[1] = root.resolve("bigqueue").toString();
        System.arraycopy(args, 0, command, 2, args.length);
        ProcessBuilder builder = new ProcessBuilder(command);
        Map<String, String> env = builder.environment();
        env.put("JAVA_HOME", javaHome.toString());
        env.remove("JAVA_OPTS");
        if (javaOpts != null) {
            env.put("JAVA_OPTS", javaOpts);
        }
        Path out = tmp.resolve("stdout");
        Path err = tmp.resolve("stderr");
        builder.redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        Process process = builder.start();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the launcher did not finish");
        return new Run(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    private static void assertNoControlCharacters(String text) {
        for (char c : text.toCharArray()) {
            assertTrue(c == '\n' || c >= ' ', "control character " + (int) c + " in:\n" + text);
        }
    }

    @Test
    void firstRunPrintsALinePerModule_plainLinesInAPipe() throws Exception {
        Path root = fakeRepository(0);
        Run run = run(root, fakeJdk("17.0.15"), "--version");
        assertEquals(0, run.exitCode(), run.stderr());
        assertTrue(run.stderr().contains("bigqueue: fetching dependencies from Maven Central"), run.stderr());
        assertEquals(1, run.stderr().split("fetching dependencies", -1).length - 1, "said once:\n" + run.stderr());
        assertTrue(run.stderr().contains("bigqueue: building bigqueue (1/2)\n"), run.stderr());
        assertTrue(run.stderr().contains("bigqueue: building bigqueue-bench (2/2)\n"), run.stderr());
        assertTrue(run.stderr().contains("bigqueue: built in "), run.stderr());
        assertFalse(run.stderr().contains("Downloading from"), "Maven's own lines stay in the log\n" + run.stderr());
        assertNoControlCharacters(run.stderr());
        assertTrue(Files.readString(root.resolve("bigqueue-bench/target/build.log")).contains("BUILD SUCCESS"));
        assertTrue(run.stdout().contains("--version"), run.stdout());
        assertFalse(run.stdout().contains("-Dbigqueue.stderrIsTerminal"), "stderr is a file, not a terminal");

        Run again = run(root, fakeJdk("17.0.15"), "--version");
        assertEquals("", again.stderr(), "no build when the jar is newer than the sources");
    }

    @Test
    void failedBuildShowsMavensErrors() throws Exception {
        Run run = run(fakeRepository(1), fakeJdk("17.0.15"), "--version");
        assertEquals(1, run.exitCode());
        assertTrue(run.stderr().contains("[ERROR] /x/Main.java:[3,1]"), run.stderr());
        assertTrue(run.stderr().contains("bigqueue: the build failed (exit code 1)"), run.stderr());
        assertEquals("", run.stdout(), "nothing ran");
    }

    @Test
    void nativeAccessFlagsOnJdk24AndLaterOnly() throws Exception {
        Path root = fakeRepository(0);
        for (String version : new String[] {"17.0.15", "21.0.4", "1.8.0_402"}) {
            Run run = run(root, fakeJdk(version), "inspect");
            assertEquals(0, run.exitCode(), run.stderr());
            assertFalse(run.stdout().contains("--enable-native-access"), version + ":\n" + run.stdout());
        }
        for (String version : new String[] {"24", "25", "25.0.1", "26-ea"}) {
            Run run = run(root, fakeJdk(version), "inspect");
            assertEquals(0, run.exitCode(), run.stderr());
            assertTrue(run.stdout().contains("--enable-native-access=ALL-UNNAMED\n"), version + ":\n" + run.stdout());
            assertTrue(run.stdout().contains("--sun-misc-unsafe-memory-access=allow\n"), version + ":\n"
                    + run.stdout());
            assertTrue(run.stdout().endsWith("-jar\n" + root.resolve("bigqueue-bench/target/bigqueue.jar")
                    + "\ninspect\n"), run.stdout());
        }
    }

    /** bench measures peers one after another: a heap growing under the first one would tilt it. */
    @Test
    void benchGetsAFixedPretouchedHeap_otherCommandsDoNot_andJavaOptsComesAfter() throws Exception {
        Path root = fakeRepository(0);
        Path jdk = fakeJdk("17.0.15");
        Run bench = run(root, jdk, "bench", "--quick");
        assertEquals(0, bench.exitCode(), bench.stderr());
        assertTrue(bench.stdout().contains("-Xms1g\n-Xmx1g\n-XX:+AlwaysPreTouch\n-jar\n"), bench.stdout());
        Run inspect = run(root, jdk, "inspect");
        assertEquals(0, inspect.exitCode(), inspect.stderr());
        assertFalse(inspect.stdout().contains("-Xms1g") || inspect.stdout().contains("AlwaysPreTouch"),
                inspect.stdout());
        Run mine = runWithJavaOpts(root, jdk, "-Xmx4g", "bench");
        assertEquals(0, mine.exitCode(), mine.stderr());
        assertTrue(mine.stdout().contains("-XX:+AlwaysPreTouch\n-Xmx4g\n-jar\n"), mine.stdout());
    }
}
