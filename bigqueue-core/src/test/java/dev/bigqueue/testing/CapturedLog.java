package dev.bigqueue.testing;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * What is logged (slf4j-simple writes to {@code System.err}) while it is open, still shown on the
 * test's own output. Safe to read while other threads log.
 */
public final class CapturedLog implements AutoCloseable {
    private final PrintStream original = System.err;
    private final ByteArrayOutputStream captured = new ByteArrayOutputStream();

    public CapturedLog() {
        OutputStream tee = new OutputStream() {
            @Override
            public void write(int b) {
                synchronized (captured) {
                    captured.write(b);
                }
                original.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                synchronized (captured) {
                    captured.write(b, off, len);
                }
                original.write(b, off, len);
            }
        };
        System.setErr(new PrintStream(tee, true, StandardCharsets.UTF_8));
    }

    /** Everything logged so far. */
    public String text() {
        synchronized (captured) {
            return captured.toString(StandardCharsets.UTF_8);
        }
    }

    /** The WARN lines logged so far by loggers whose name starts with {@code loggerPrefix}. */
    public List<String> warnings(String loggerPrefix) {
        return text().lines().filter(l -> l.contains("WARN " + loggerPrefix)).toList();
    }

    @Override
    public void close() {
        System.setErr(original);
    }
}
