package dev.bigqueue.consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.bigqueue.BigQueue;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A consumer file the process may not read or write (EACCES): opening that consumer fails with a
 * message naming the file, saying that permission was denied and what to do, and changes nothing.
 * The JDK's AccessDeniedException message is the file name alone, so the message used to read
 * "cannot open consumer 'secret' file F: F". Root is never refused, so the open runs in a child
 * JVM as user nobody ({@code setpriv}); without root or setpriv the test is skipped.
 */
class ConsumerPermissionTest {
    @Test
    void aConsumerFileThisUserMayNotOpen_isRefusedSayingPermissionDeniedAndWhatToDo() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root, to hand the files to another user");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs /usr/bin/setpriv");
        Path base = Files.createTempDirectory("bigqueue-permission-");
        try {
            Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path dir = base.resolve("q");
            try (BigQueue q = BigQueue.open(dir, Fixtures.small())) {
                q.enqueueString("m");
                Consumers.of(q).open("secret");
                Consumers.of(q).open("mine");
            }
            UserPrincipal nobody = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
            try (Stream<Path> all = Files.walk(dir)) {
                for (Path p : all.toList()) {
                    Files.setOwner(p, nobody);
                }
            }
            Path secret = dir.resolve("consumers").resolve("secret.consumer");
            Files.setOwner(secret, dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("root"));
            Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
            byte[] before = Files.readAllBytes(secret);

            List<String> cmd = new ArrayList<>(List.of("/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                    "--clear-groups", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-XX:TieredStopAtLevel=1", "-Dorg.slf4j.simpleLogger.defaultLogLevel=error", "-cp",
                    System.getProperty("java.class.path"), PermissionChild.class.getName(), dir.toString(),
                    "secret", "mine"));
            Process child = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(child.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertTrue(child.waitFor(5, TimeUnit.MINUTES));
            assumeTrue(!out.contains("Could not find or load main class") && !out.contains("ClassNotFound"),
                    "user nobody cannot read the test classes here: " + out);
            assertEquals(0, child.exitValue(), out);
            String refused = out.lines().filter(l -> l.startsWith("REFUSED secret ")).findFirst().orElse(null);
            assertTrue(refused != null, "the open of a consumer file nobody may open was not refused: " + out);
            assertTrue(refused.contains(secret.toAbsolutePath().toString()), refused);
            assertTrue(refused.contains("permission denied") && refused.contains("read and write access"), refused);
            assertTrue(out.contains("OPENED mine"), "the other consumers open as usual: " + out);
            assertArrayEquals(before, Files.readAllBytes(secret), "the refused file is unchanged");
        } finally {
            deleteTree(base);
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
