package dev.bigqueue.bench.run;

import java.util.Locale;

/** Parses and prints sizes, counts and rates the way the command line and the reports show them. */
public final class Units {
    private Units() {
    }

    /**
     * Parses a size: a number of bytes with an optional unit {@code B, K/KB/KiB, M/MB/MiB, G/GB/GiB};
     * every unit is binary (4KB = 4096 bytes), as message and arena sizes usually are.
     *
     * @param text for example {@code 128}, {@code 4K}, {@code 4KB}, {@code 128MiB}.
     * @return the size in bytes.
     */
    public static long parseBytes(String text) {
        String t = text.trim().toUpperCase(Locale.ROOT).replace("_", "");
        long multiplier = 1;
        String[][] units = {{"KIB", "1024"}, {"MIB", "1048576"}, {"GIB", "1073741824"},
            {"KB", "1024"}, {"MB", "1048576"}, {"GB", "1073741824"},
            {"K", "1024"}, {"M", "1048576"}, {"G", "1073741824"}, {"B", "1"}};
        for (String[] unit : units) {
            if (t.endsWith(unit[0])) {
                multiplier = Long.parseLong(unit[1]);
                t = t.substring(0, t.length() - unit[0].length()).trim();
                break;
            }
        }
        try {
            long value = Long.parseLong(t);
            if (value < 0) {
                throw new NumberFormatException();
            }
            return Math.multiplyExact(value, multiplier);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("not a size: '" + text + "'; write bytes, e.g. 128, 4KB, 4MB");
        }
    }

    /** A size the short way: 128 B, 4 KB, 128 KB, 4 MB (binary units). */
    public static String bytes(long n) {
        if (n >= (1L << 30) && n % (1L << 30) == 0) {
            return (n >> 30) + " GB";
        }
        if (n >= (1L << 20) && n % (1L << 20) == 0) {
            return (n >> 20) + " MB";
        }
        if (n >= 1024 && n % 1024 == 0) {
            return (n >> 10) + " KB";
        }
        return n + " B";
    }

    /** A byte total in human units with one decimal (binary). */
    public static String bytesApprox(long n) {
        if (n >= (1L << 30)) {
            return String.format(Locale.ROOT, "%.1f GiB", n / (double) (1L << 30));
        }
        if (n >= (1L << 20)) {
            return String.format(Locale.ROOT, "%.1f MiB", n / (double) (1L << 20));
        }
        if (n >= 1024) {
            return String.format(Locale.ROOT, "%.1f KiB", n / 1024.0);
        }
        return n + " B";
    }

    /** A count with thousands separators. */
    public static String count(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    /** A rate or amount with thousands separators and {@code decimals} decimals. */
    public static String number(double value, int decimals) {
        if (Double.isNaN(value)) {
            return "-";
        }
        return String.format(Locale.ROOT, "%,." + decimals + "f", value);
    }

    /** A ratio such as {@code 2.41x}. */
    public static String ratio(double value) {
        if (Double.isNaN(value) || Double.isInfinite(value)) {
            return "-";
        }
        return String.format(Locale.ROOT, value >= 100 ? "%.0fx" : value >= 10 ? "%.1fx" : "%.2fx", value);
    }
}
