package dev.bigqueue.bench.run;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;

/**
 * After a JMH run: the peers' scores side by side with bigqueue's, one row per benchmark and
 * parameter set, and the ratio bigqueue ÷ peer (for throughput modes: above 1, bigqueue is
 * faster; for time-per-operation modes the ratio is peer ÷ bigqueue, so above 1 still means
 * bigqueue is faster). Benchmarks without a {@code peer} parameter are left out.
 */
public final class JmhRatios {
    /**
     * Text order, except that runs of digits compare as numbers: {@code messageSize=128} before
     * {@code messageSize=4096} before {@code messageSize=16384}.
     */
    static final Comparator<String> NATURAL_ORDER = JmhRatios::compareNatural;

    private JmhRatios() {
    }

    private static int compareNatural(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            char x = a.charAt(i);
            char y = b.charAt(j);
            if (Character.isDigit(x) && Character.isDigit(y)) {
                int endA = digitsEnd(a, i);
                int endB = digitsEnd(b, j);
                String numberA = a.substring(i, endA).replaceFirst("^0+(?=.)", "");
                String numberB = b.substring(j, endB).replaceFirst("^0+(?=.)", "");
                int byValue = numberA.length() != numberB.length() ? Integer.compare(numberA.length(), numberB.length())
                        : numberA.compareTo(numberB);
                if (byValue != 0) {
                    return byValue;
                }
                i = endA;
                j = endB;
            } else {
                if (x != y) {
                    return Character.compare(x, y);
                }
                i++;
                j++;
            }
        }
        int byRest = Integer.compare(a.length() - i, b.length() - j);
        return byRest != 0 ? byRest : a.compareTo(b); // "01" and "1" stay two keys
    }

    private static int digitsEnd(String text, int from) {
        int end = from;
        while (end < text.length() && Character.isDigit(text.charAt(end))) {
            end++;
        }
        return end;
    }

    /** The table, or null when no result has a {@code peer} parameter. */
    public static Table table(Collection<RunResult> results) {
        Map<String, Map<String, Result>> groups = new TreeMap<>(NATURAL_ORDER);
        Map<String, String> modes = new LinkedHashMap<>();
        for (RunResult run : results) {
            var params = run.getParams();
            if (!params.getParamsKeys().contains("peer")) {
                continue;
            }
            StringBuilder key = new StringBuilder(shortName(params.getBenchmark()));
            List<String> others = new ArrayList<>();
            for (Object name : params.getParamsKeys()) {
                if (!"peer".equals(name)) {
                    others.add(name + "=" + params.getParam((String) name));
                }
            }
            if (!others.isEmpty()) {
                key.append(' ').append(String.join(" ", others));
            }
            if (params.getThreadGroups().length > 1) {
                // A @Group benchmark: its score is the sum of its methods; compare method by method.
                for (String method : params.getThreadGroupLabels()) {
                    Result result = run.getSecondaryResults().get(method);
                    if (result != null) {
                        String methodKey = key + " [" + method + "]";
                        groups.computeIfAbsent(methodKey, k -> new LinkedHashMap<>())
                                .put(params.getParam("peer"), result);
                        modes.put(methodKey, params.getMode().shortLabel());
                    }
                }
                continue;
            }
            groups.computeIfAbsent(key.toString(), k -> new LinkedHashMap<>())
                    .put(params.getParam("peer"), run.getPrimaryResult());
            modes.put(key.toString(), params.getMode().shortLabel());
        }
        if (groups.isEmpty()) {
            return null;
        }
        Table table = new Table("benchmark and params", "peer", ">score", ">±", "unit", ">bigqueue advantage");
        for (Map.Entry<String, Map<String, Result>> group : groups.entrySet()) {
            Result base = group.getValue().get("BIGQUEUE");
            boolean higherIsBetter = "thrpt".equals(modes.get(group.getKey()));
            for (Map.Entry<String, Result> peer : group.getValue().entrySet()) {
                Result r = peer.getValue();
                double ratio = base == null ? Double.NaN
                        : higherIsBetter ? base.getScore() / r.getScore() : r.getScore() / base.getScore();
                table.row(group.getKey(), peer.getKey(), Units.decimal(r.getScore()),
                        Units.decimal(r.getScoreError()),
                        r.getScoreUnit(), Units.ratio(ratio));
            }
        }
        return table;
    }

    private static String shortName(String benchmark) {
        String[] parts = benchmark.split("\\.");
        return parts.length >= 2 ? parts[parts.length - 2] + "." + parts[parts.length - 1] : benchmark;
    }
}
