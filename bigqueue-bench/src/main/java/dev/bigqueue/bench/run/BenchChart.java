package dev.bigqueue.bench.run;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;
import javax.imageio.ImageIO;

/**
 * A PNG of a bench run: one panel of horizontal bars per throughput measurement (write, read and
 * drain, per message size; MB/s) and one for latency (p99, µs), one bar per peer, bigqueue first. Drawn
 * headless with java.awt; where the JDK has no font support the chart is skipped, never the run.
 */
public final class BenchChart {
    private static final int WIDTH = 900;
    private static final int PANEL_HEADER = 28;
    private static final int BAR = 20;
    private static final int GAP = 6;
    private static final int LABEL_WIDTH = 110;
    private static final Color[] COLORS = {
        new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0x7f7f7f)};

    private BenchChart() {
    }

    private record Bar(String label, double value, int colorIndex) {
    }

    private record Panel(String title, String unit, List<Bar> bars) {
    }

    /**
     * Draws the chart to {@code file}.
     *
     * @return whether a chart was written.
     */
    public static boolean write(BenchSuite.Results results, Path file) {
        try {
            System.setProperty("java.awt.headless", "true");
            List<Panel> panels = panels(results);
            if (panels.isEmpty()) {
                return false;
            }
            int height = 50;
            for (Panel panel : panels) {
                height += PANEL_HEADER + panel.bars().size() * (BAR + GAP) + 14;
            }
            BufferedImage image = new BufferedImage(WIDTH, height, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = image.createGraphics();
            try {
                draw(g, panels, height);
            } finally {
                g.dispose();
            }
            return ImageIO.write(image, "png", file.toFile());
        } catch (Throwable t) {
            // No fonts or no AWT in this JDK: the report goes without a chart.
            return false;
        }
    }

    private static List<Panel> panels(BenchSuite.Results results) {
        List<Panel> panels = new ArrayList<>();
        for (String operation : ThroughputRun.OPERATIONS) {
            for (int size : results.settings().sizes()) {
                List<Bar> bars = new ArrayList<>();
                for (ThroughputResult r : results.throughput()) {
                    if (r.operation().equals(operation) && r.messageBytes() == size) {
                        bars.add(new Bar(r.peer().label(), r.megabytesPerSecond(), r.peer().ordinal()));
                    }
                }
                if (!bars.isEmpty()) {
                    panels.add(new Panel(operation + " " + Units.bytes(size) + " messages", "MB/s, longer is better",
                            bars));
                }
            }
        }
        List<Bar> latency = new ArrayList<>();
        for (LatencyResult r : results.latency()) {
            if (r.histogram().getTotalCount() > 0) {
                latency.add(new Bar(r.peer().label(), r.percentileMicros(99), r.peer().ordinal()));
            }
        }
        if (!latency.isEmpty()) {
            panels.add(new Panel("p99 latency, " + Units.bytes(results.settings().latencyBytes()) + " at "
                    + Units.count(results.settings().latencyRate()) + " msg/s", "µs, shorter is better", latency));
        }
        return panels;
    }

    private static void draw(Graphics2D g, List<Panel> panels, int height) {
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, WIDTH, height);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
        g.drawString("bigqueue bench", 16, 30);
        int y = 50;
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
                int decimals = bar.value() < 1 ? 2 : bar.value() < 100 ? 1 : 0;
                g.drawString(Units.number(bar.value(), decimals), LABEL_WIDTH + length + 6,
                        y + BAR - 5);
                y += BAR + GAP;
            }
            g.setColor(Color.LIGHT_GRAY);
            g.setStroke(new BasicStroke(1));
            g.drawLine(16, y + 6, WIDTH - 16, y + 6);
            y += 14;
        }
    }
}
