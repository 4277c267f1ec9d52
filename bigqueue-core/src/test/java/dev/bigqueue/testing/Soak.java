package dev.bigqueue.testing;

/**
 * How long the randomised tests run: a quick count in the default build ({@code ./mvnw verify},
 * what CI runs, under 10 minutes on a busy 2-core machine) and a long one with {@code -Psoak}
 * (system property {@code bigqueue.soak=true}). Both run the same code with the same checks; the
 * soak run only tries more seeds and interleavings. Each test's own property (named in its
 * javadoc) overrides both.
 */
public final class Soak {
    private Soak() {
    }

    /** Whether this is a soak run. */
    public static boolean on() {
        return Boolean.getBoolean("bigqueue.soak");
    }

    /** {@code quick} in the default run, {@code soak} in a soak run; the property {@code name} overrides both. */
    public static int rounds(String name, int quick, int soak) {
        return Integer.getInteger(name, on() ? soak : quick);
    }
}
