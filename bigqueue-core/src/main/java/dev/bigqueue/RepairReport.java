package dev.bigqueue;

import java.util.List;

/**
 * What {@link BigQueue#repair} found and did: every step in the order it was taken, and the
 * offsets that are no longer in the queue because of it. Nothing is ever lost silently: each
 * message a repair gives up on is in {@link #lost()}, and every file it took out of the queue was
 * moved to {@link #movedAsideTo()}, not deleted.
 */
public final class RepairReport {
    private final List<String> actions;
    private final List<String> lost;
    private final String movedAsideTo;

    /** Built by the repair; not for applications. */
    public RepairReport(List<String> actions, List<String> lost, String movedAsideTo) {
        this.actions = List.copyOf(actions);
        this.lost = List.copyOf(lost);
        this.movedAsideTo = movedAsideTo;
    }

    /** Every finding and step, in order, one sentence each. */
    public List<String> actions() {
        return actions;
    }

    /** The ranges of offsets no longer readable, each with its cause; empty if none. */
    public List<String> lost() {
        return lost;
    }

    /** Whether the queue was already whole (nothing was changed). */
    public boolean wasWhole() {
        return lost.isEmpty() && movedAsideTo == null && actions.stream().noneMatch(a -> a.startsWith("changed:"));
    }

    /** The directory the damaged or stray files were moved to, or null if none was moved. */
    public String movedAsideTo() {
        return movedAsideTo;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        for (String a : actions) {
            b.append(a).append('\n');
        }
        if (lost.isEmpty()) {
            b.append("no message was lost\n");
        } else {
            for (String l : lost) {
                b.append("lost: ").append(l).append('\n');
            }
        }
        if (movedAsideTo != null) {
            b.append("files taken out of the queue were moved to ").append(movedAsideTo).append('\n');
        }
        return b.toString();
    }
}
