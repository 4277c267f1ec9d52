package dev.bigqueue.bench.run;

import java.util.Locale;

/**
 * The one place that turns numbers into text for a person, on the terminal, in reports and in
 * charts, so that every command writes them the same way:
 * <ul>
 * <li>sizes in binary units with their IEC names and a space: {@code 128 B}, {@code 4 KiB},
 *     {@code 128 MiB}; an amount that is no whole unit with one decimal: {@code 1.5 GiB};
 * <li>throughput in MB/s, 10^6 bytes a second, as disks and networks quote it (and every table says);
 * <li>counts with thousands separators: {@code 1,000,000}; measured values with three significant
 *     figures or their whole part: {@code 0.123}, {@code 12.3}, {@code 1,234};
 * <li>offsets as plain digits, since they are identifiers a user types back ({@code --offset 1000}).
 * </ul>
 * Sizes typed on the command line accept both names ({@code 4KB} and {@code 4KiB} are 4096 bytes).
 */
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

    /** A size exactly: 128 B, 4 KiB, 128 MiB, 1 GiB; a size that is no whole unit in bytes (4,097 B). */
    public static String bytes(long n) {
        if (n >= (1L << 30) && n % (1L << 30) == 0) {
            return (n >> 30) + " GiB";
        }
        if (n >= (1L << 20) && n % (1L << 20) == 0) {
            return (n >> 20) + " MiB";
        }
        if (n >= 1024 && n % 1024 == 0) {
            return (n >> 10) + " KiB";
        }
        return count(n) + " B";
    }

    /** An amount of bytes in the largest binary unit it reaches, one decimal: 1.5 GiB, 812.0 KiB, 17 B. */
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

    /** A time in seconds with one decimal: {@code 12.5 s}. */
    public static String seconds(long nanos) {
        return number(nanos / 1e9, 1) + " s";
    }

    /**
     * A measured value (a rate, a latency, a score): at least three significant figures, never
     * more decimals than that needs: 0.0123, 0.123, 1.23, 12.3, 123, 1,234,567; "-" for NaN.
     */
    public static String decimal(double value) {
        double magnitude = Math.abs(value);
        int decimals = magnitude >= 100 || magnitude == 0 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2
                : Math.min(6, 2 - (int) Math.floor(Math.log10(magnitude)));
        return number(value, decimals);
    }

    /** A count with thousands separators. */
    public static String count(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    /** A rate or amount with thousands separators and {@code decimals} decimals. */
    public static String number(double value, int decimals) {
        if (Double.isNaN(value) || Double.isInfinite(value)) {
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
