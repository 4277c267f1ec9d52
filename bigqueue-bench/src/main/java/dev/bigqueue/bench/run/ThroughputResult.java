package dev.bigqueue.bench.run;

import dev.bigqueue.bench.peer.PeerType;

/**
 * One measured write or read phase.
 *
 * @param peer         the queue.
 * @param operation    {@code write} (enqueue), {@code read} (dequeue) or {@code drain} (batch
 *                     read), as in {@link ThroughputRun#OPERATIONS}.
 * @param messageBytes payload bytes per message.
 * @param messages     messages moved in the phase.
 * @param elapsedNs    wall time of the phase.
 */
public record ThroughputResult(PeerType peer, String operation, int messageBytes, long messages, long elapsedNs) {

    /** Messages per second. */
    public double messagesPerSecond() {
        return elapsedNs == 0 ? 0 : messages * 1e9 / elapsedNs;
    }

    /** Payload megabytes (10^6 bytes) per second. */
    public double megabytesPerSecond() {
        return messagesPerSecond() * messageBytes / 1e6;
    }

    /** Nanoseconds per message. */
    public double nanosPerMessage() {
        return messages == 0 ? 0 : (double) elapsedNs / messages;
    }
}
