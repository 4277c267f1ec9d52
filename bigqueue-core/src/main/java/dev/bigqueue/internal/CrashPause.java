package dev.bigqueue.internal;

/**
 * For the crash tests only: a named step of a multi-step file change (an upgrade, a repair) where
 * a child JVM waits to be killed with {@code kill -9}, so that a test can check what every step
 * leaves on disk. Does nothing unless the system property names the step.
 */
final class CrashPause {
    private CrashPause() {
    }

    /**
     * With the system property {@code property} equal to {@code step}, says "PAUSED step" on stdout
     * and waits to be killed.
     */
    static void at(String property, String step) {
        if (step.equals(System.getProperty(property))) {
            System.out.println("PAUSED " + step);
            System.out.flush();
            for (;;) {
                try {
                    Thread.sleep(Long.MAX_VALUE);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }
}
