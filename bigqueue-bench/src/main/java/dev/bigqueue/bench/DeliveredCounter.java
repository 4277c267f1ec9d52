package dev.bigqueue.bench;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Counts messages a consumer actually received, as opposed to polls that found the queue empty;
 * JMH reports it beside the score as {@code delivered} per second.
 */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.OPERATIONS)
public class DeliveredCounter {
    /** Messages received in this iteration. */
    public long delivered;

    @Setup(Level.Iteration)
    public void reset() {
        delivered = 0;
    }
}
