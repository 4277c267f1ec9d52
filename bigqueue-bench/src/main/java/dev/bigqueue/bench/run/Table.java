package dev.bigqueue.bench.run;

import java.util.ArrayList;
import java.util.List;

/** A small table printed two ways: aligned plain text for the terminal, and Markdown for the report. */
public final class Table {
    private final List<String> header;
    private final boolean[] rightAligned;
    private final List<List<String>> rows = new ArrayList<>();

    /**
     * @param columns column titles; a title starting with {@code >} is right-aligned (the mark is dropped).
     */
    public Table(String... columns) {
        this.header = new ArrayList<>();
        this.rightAligned = new boolean[columns.length];
        for (int i = 0; i < columns.length; i++) {
            rightAligned[i] = columns[i].startsWith(">");
            header.add(rightAligned[i] ? columns[i].substring(1) : columns[i]);
        }
    }

    /** Adds a row; it must have one cell per column. */
    public Table row(String... cells) {
        if (cells.length != header.size()) {
            throw new IllegalArgumentException("row has " + cells.length + " cells, table has " + header.size());
        }
        rows.add(List.of(cells));
        return this;
    }

    public boolean isEmpty() {
        return rows.isEmpty();
    }

    /** Aligned columns separated by two spaces, with a rule under the header. */
    public String toText() {
        int[] widths = new int[header.size()];
        for (int i = 0; i < widths.length; i++) {
            widths[i] = header.get(i).length();
            for (List<String> row : rows) {
                widths[i] = Math.max(widths[i], row.get(i).length());
            }
        }
        StringBuilder out = new StringBuilder();
        appendText(out, header, widths);
        int total = 0;
        for (int width : widths) {
            total += width + 2;
        }
        out.append("-".repeat(Math.max(0, total - 2))).append('\n');
        for (List<String> row : rows) {
            appendText(out, row, widths);
        }
        return out.toString();
    }

    private void appendText(StringBuilder out, List<String> cells, int[] widths) {
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < cells.size(); i++) {
            String cell = cells.get(i);
            String pad = " ".repeat(widths[i] - cell.length());
            line.append(rightAligned[i] ? pad + cell : cell + pad);
            if (i < cells.size() - 1) {
                line.append("  ");
            }
        }
        out.append(line.toString().stripTrailing()).append('\n');
    }

    /** A GitHub-flavoured Markdown table. */
    public String toMarkdown() {
        StringBuilder out = new StringBuilder("| ");
        out.append(String.join(" | ", header)).append(" |\n|");
        for (boolean right : rightAligned) {
            out.append(right ? " ---: |" : " --- |");
        }
        out.append('\n');
        for (List<String> row : rows) {
            out.append("| ").append(String.join(" | ", row)).append(" |\n");
        }
        return out.toString();
    }
}
