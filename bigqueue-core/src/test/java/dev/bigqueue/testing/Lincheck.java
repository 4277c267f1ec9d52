package dev.bigqueue.testing;

import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Options;
import org.jetbrains.lincheck.datastructures.StressOptions;

/**
 * The Lincheck strategy this JDK can run. Model checking (Lincheck explores thread schedules
 * itself) on JDK 17 to 24. On JDK 25, Lincheck 3.7, the newest the registry here serves, hangs
 * in model checking: one test thread parks inside {@code ReentrantLock.lock} for real while the
 * others wait for a turn the scheduler never gives (seen in LockModelCheckTest, 6 minutes without
 * progress). There the same scenarios, operations and validation run in stress mode: real threads,
 * many invocations, no exhaustive search. Back to model checking when a Lincheck that supports
 * JDK 25 can be had.
 */
public final class Lincheck {
    /** The first JDK on which model checking hangs with Lincheck 3.7. */
    private static final int MODEL_CHECKING_HANGS_FROM = 25;

    private Lincheck() {
    }

    /** Model-checking options where they work, stress options on newer JDKs (see the class comment). */
    public static Options<?, ?> options() {
        if (Runtime.version().feature() >= MODEL_CHECKING_HANGS_FROM) {
            return new StressOptions();
        }
        return new ModelCheckingOptions();
    }
}
