package dev.bigqueue.bench.run;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;
import javax.imageio.ImageIO;

/**
 * A PNG of a bench run: a header with the date, the JDK and the machine; one panel of horizontal
 * bars per throughput measurement (write, read and drain, per message size; MB/s) and one for
 * latency (p99, µs), one bar per peer, bigqueue first, each panel saying how its figures were
 * chosen (one run, or the median of the rounds). A peer without a comparable latency figure (it
 * did not keep up with the rate, or failed) gets a line saying so instead of a bar. Drawn headless
 * with java.awt; where the JDK has no font support the chart is skipped, never the run.
 */
public final class BenchChart {
    private static final int WIDTH = 900;
    private static final int PANEL_HEADER = 28;
    private static final int HEADER_TOP = 30;
    private static final int HEADER_LINE = 20;
    private static final int BAR = 20;
    private static final int GAP = 6;
    private static final int LABEL_WIDTH = 110;
    private static final Color[] COLORS = {
        new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0x7f7f7f)};

    private BenchChart() {
    }

    record Bar(String label, double value, int colorIndex) {
    }

    /** A panel: its bars, then lines of text where a bar is missing. */
    record Panel(String title, String unit, List<Bar> bars, List<String> missing) {
    }

    /**
     * Draws the chart of {@code report}'s run to {@code file}.
     *
     * @param header the lines above the panels: {@link #header}.
     * @return whether a chart was written.
     */
    public static boolean write(BenchSuite.Results results, BenchReport report, List<String> header, Path file) {
        try {
            System.setProperty("java.awt.headless", "true");
            List<Panel> panels = panels(results, report);
            if (panels.isEmpty()) {
                return false;
            }
            int height = HEADER_TOP + header.size() * HEADER_LINE + 10;
            for (Panel panel : panels) {
                height += PANEL_HEADER + panel.bars().size() * (BAR + GAP) + panel.missing().size() * (BAR + GAP) + 14;
            }
            BufferedImage image = new BufferedImage(WIDTH, height, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = image.createGraphics();
            try {
                draw(g, header, panels, height);
            } finally {
                g.dispose();
            }
            return ImageIO.write(image, "png", file.toFile());
        } catch (Throwable t) {
            // No fonts or no AWT in this JDK: the report goes without a chart.
            return false;
        }
    }

    /** The lines at the top: what, when, on which JDK and machine. */
    public static List<String> header(Instant finishedAt, String machine) {
        return List.of("bigqueue bench, " + DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'")
                .format(finishedAt.atOffset(ZoneOffset.UTC)), machine);
    }

    static List<Panel> panels(BenchSuite.Results results, BenchReport report) {
        List<Panel> panels = new ArrayList<>();
        String rounds = BenchReport.throughputRounds(results.settings());
        for (String operation : ThroughputRun.OPERATIONS) {
            for (int size : results.settings().sizes()) {
                List<Bar> bars = new ArrayList<>();
                for (ThroughputResult r : results.throughput()) {
                    if (r.operation().equals(operation) && r.messageBytes() == size) {
                        bars.add(new Bar(r.peer().label(), r.megabytesPerSecond(), r.peer().ordinal()));
                    }
                }
                if (!bars.isEmpty()) {
                    panels.add(new Panel(operation + " " + Units.bytes(size) + " messages, " + rounds,
                            "MB/s, longer is better", bars, List.of()));
                }
            }
        }
        List<Bar> latency = new ArrayList<>();
        for (LatencyResult r : results.latency()) {
            if (r.keptUp() && r.histogram().getTotalCount() > 0) {
                latency.add(new Bar(r.peer().label(), r.percentileMicros(99), r.peer().ordinal()));
            }
        }
        List<String> gaps = report.latencyGaps();
        if (!latency.isEmpty() || !gaps.isEmpty()) {
            panels.add(new Panel("p99 latency, " + Units.bytes(results.settings().latencyBytes()) + " at "
                    + Units.count(results.settings().latencyRate()) + " msg/s, "
                    + BenchReport.latencyRounds(results.settings()), "µs, shorter is better", latency, gaps));
        }
        return panels;
    }

    private static void draw(Graphics2D g, List<String> header, List<Panel> panels, int height) {
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, WIDTH, height);
        int y = HEADER_TOP;
        for (int i = 0; i < header.size(); i++) {
            g.setColor(i == 0 ? Color.BLACK : Color.DARK_GRAY);
            g.setFont(new Font(Font.SANS_SERIF, i == 0 ? Font.BOLD : Font.PLAIN, i == 0 ? 18 : 12));
            g.drawString(header.get(i), 16, y);
            y += HEADER_LINE;
        }
        y += 10;
        for (Panel panel : panels) {
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
            g.drawString(panel.title(), 16, y + 18);
            int titleWidth = g.getFontMetrics().stringWidth(panel.title());
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            g.setColor(Color.DARK_GRAY);
            g.drawString("(" + panel.unit() + ")", 16 + titleWidth + 10, y + 18);
            y += PANEL_HEADER;
            double max = panel.bars().stream().mapToDouble((ToDoubleFunction<Bar>) Bar::value).max().orElse(1);
            int barSpace = WIDTH - LABEL_WIDTH - 140;
            for (Bar bar : panel.bars()) {
                g.setColor(Color.BLACK);
                g.drawString(bar.label(), 24, y + BAR - 5);
                int length = max <= 0 ? 0 : (int) Math.max(1, barSpace * bar.value() / max);
                g.setColor(COLORS[Math.max(0, bar.colorIndex()) % COLORS.length]);
                g.fillRect(LABEL_WIDTH, y, length, BAR);
                g.setColor(Color.BLACK);
                g.drawString(Units.decimal(bar.value()), LABEL_WIDTH + length + 6,
                        y + BAR - 5);
                y += BAR + GAP;
            }
            for (String line : panel.missing()) {
                g.setColor(Color.DARK_GRAY);
                g.setFont(new Font(Font.SANS_SERIF, Font.ITALIC, 12));
                g.drawString(line, 24, y + BAR - 5);
                g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
                y += BAR + GAP;
            }
            g.setColor(Color.LIGHT_GRAY);
            g.setStroke(new BasicStroke(1));
            g.drawLine(16, y + 6, WIDTH - 16, y + 6);
            y += 14;
        }
    }
}
