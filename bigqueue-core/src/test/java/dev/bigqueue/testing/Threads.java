package dev.bigqueue.testing;

/** What a thread is doing right now, read from its state and stack: conditions for {@link Poll#until}. */
public final class Threads {
    private Threads() {
    }

    /**
     * Whether {@code t} is parked or waiting ({@code WAITING} or {@code TIMED_WAITING}) with a frame
     * of a method named {@code method} of a class whose name ends with {@code classSuffix} on its stack.
     */
    public static boolean waitingIn(Thread t, String classSuffix, String method) {
        Thread.State s = t.getState();
        if (s != Thread.State.WAITING && s != Thread.State.TIMED_WAITING) {
            return false;
        }
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getClassName().endsWith(classSuffix) && e.getMethodName().equals(method)) {
                return true;
            }
        }
        return false;
    }
}
