package dev.bigqueue.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The progress display: plain lines in a pipe; on a terminal, one line that tells the truth and
 * leaves nothing behind.
 */
class ProgressLineTest {
    private final AtomicLong nowNs = new AtomicLong(1_000_000_000L);
    private final StringWriter text = new StringWriter();

    private ProgressLine progress(boolean terminal, int columns) {
        return new ProgressLine(new PrintWriter(text, true), terminal, columns, nowNs::get);
    }

    private void advanceSeconds(double seconds) {
        nowNs.addAndGet((long) (seconds * 1e9));
    }

    /** What a terminal shows on the current line: \r goes to column 0, ESC[K erases to the end. */
    private static String screenLine(String output) {
        StringBuilder line = new StringBuilder();
        int cursor = 0;
        for (int i = 0; i < output.length(); i++) {
            char c = output.charAt(i);
            if (c == '\r') {
                cursor = 0;
            } else if (c == '\n') {
                line.setLength(0);
                cursor = 0;
            } else if (c == '\u001b' && output.startsWith("\u001b[K", i)) {
                line.setLength(cursor);
                i += 2;
            } else {
                if (cursor < line.length()) {
                    line.setCharAt(cursor, c);
                } else {
                    line.append(c);
                }
                cursor++;
            }
        }
        return line.toString();
    }

    @Test
    void inAPipe_onePlainLinePerStep() {
        try (ProgressLine progress = progress(false, 80)) {
            progress.step(0, 20, "write+read 128 B bigqueue");
            advanceSeconds(12.5);
            progress.tick();
            progress.step(3, 20, "write+read 4 KB tape");
        }
        assertEquals("[ 0/20   0.0 s] write+read 128 B bigqueue\n[ 3/20  12.5 s] write+read 4 KB tape\n",
                text.toString().replace(System.lineSeparator(), "\n"));
        for (char c : text.toString().toCharArray()) {
            assertTrue(c == '\n' || c >= ' ', "control character " + (int) c);
        }
    }

    @Test
    void onATerminal_aShorterStepLeavesNoStaleText() {
        ProgressLine progress = progress(true, 200);
        progress.step(1, 4, "latency 128 B at 100,000 msg/s chronicle, round 1 of 3");
        advanceSeconds(1);
        progress.step(4, 4, "done");
        assertEquals("[####################] 4/4  1.0 s  done", screenLine(text.toString()));
        progress.close();
        assertEquals("", screenLine(text.toString()), "close erases the line");
    }

    @Test
    void onATerminal_theClockMovesWithinAStep() {
        ProgressLine progress = progress(true, 200);
        progress.step(2, 10, "write+read 4 KB raw");
        String shown = screenLine(text.toString());
        assertTrue(shown.endsWith("0.0 s  write+read 4 KB raw (0.0 s)"), shown);
        advanceSeconds(7.25);
        progress.tick();
        assertEquals("[####................]  2/10  7.3 s  write+read 4 KB raw (7.3 s)", screenLine(text.toString()));
        progress.close();
        advanceSeconds(1);
        progress.tick();
        assertEquals("", screenLine(text.toString()), "nothing is drawn after close");
    }

    @Test
    void onATerminal_theLineNeverWraps() {
        ProgressLine progress = progress(true, 40);
        progress.step(0, 3, "a step with a description much longer than forty columns");
        String shown = screenLine(text.toString());
        assertEquals(39, shown.length(), shown);
        assertTrue(shown.endsWith("..."), shown);
        assertFalse(text.toString().contains("\n"), "redrawn in place");
    }

    @Test
    void withoutTheLaunchersWord_stderrIsTakenForAPipe() {
        assertEquals(null, System.getProperty(ProgressLine.TERMINAL_PROPERTY));
        try (ProgressLine progress = ProgressLine.forStderr(new PrintWriter(text, true))) {
            progress.step(0, 1, "step");
        }
        assertTrue(text.toString().startsWith("[0/1 "), text.toString());
        assertFalse(text.toString().contains("\r"), text.toString());
    }
}
