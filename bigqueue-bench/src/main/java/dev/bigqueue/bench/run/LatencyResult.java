package dev.bigqueue.bench.run;

import dev.bigqueue.bench.peer.PeerType;
import org.HdrHistogram.Histogram;

/**
 * One producer-to-consumer latency run at a fixed rate.
 *
 * @param peer         the queue.
 * @param messageBytes payload bytes per message.
 * @param ratePerSecond the rate the producer was asked to send at.
 * @param planned      messages the schedule called for.
 * @param sent         messages the producer enqueued (fewer than planned when the peer could not keep up).
 * @param received     messages the consumer got before the run's deadline.
 * @param histogram    latency from each message's scheduled send time to its arrival, in ns,
 *                     warm-up messages left out.
 */
public record LatencyResult(PeerType peer, int messageBytes, long ratePerSecond, long planned, long sent,
                            long received, Histogram histogram) {

    /** Whether every planned message was sent and received. */
    public boolean keptUp() {
        return sent == planned && received == sent;
    }

    /** A percentile in microseconds. */
    public double percentileMicros(double percentile) {
        return histogram.getTotalCount() == 0 ? Double.NaN : histogram.getValueAtPercentile(percentile) / 1000.0;
    }

    /** The largest latency in microseconds. */
    public double maxMicros() {
        return histogram.getTotalCount() == 0 ? Double.NaN : histogram.getMaxValue() / 1000.0;
    }
}
