package dev.bigqueue.bench.peer;

import java.nio.file.Path;
import java.util.Locale;

/**
 * The queues compared by the benchmarks, used as a JMH {@code @Param} and by {@code bigqueue bench}.
 */
public enum PeerType {
    /** This project: {@code dev.bigqueue.BigQueue}. */
    BIGQUEUE("bigqueue") {
        @Override
        QueuePeer open(Path dir, PeerOptions options) {
            return new BigQueuePeer(dir, options);
        }
    },
    /** OpenHFT Chronicle Queue (open source), one appender and one tailer. */
    CHRONICLE("chronicle") {
        @Override
        QueuePeer open(Path dir, PeerOptions options) {
            return new ChroniclePeer(dir, options);
        }
    },
    /** Square's Tape {@code QueueFile}: one file, every operation synced to disk. */
    TAPE("tape") {
        @Override
        QueuePeer open(Path dir, PeerOptions options) {
            return new TapePeer(dir, options);
        }
    },
    /** The raw limit: length-prefixed memcpy into one pre-mapped buffer; no index, no locking. */
    RAW_MAPPED("raw") {
        @Override
        QueuePeer open(Path dir, PeerOptions options) {
            return new RawMappedPeer(dir, options);
        }
    };

    private final String label;

    PeerType(String label) {
        this.label = label;
    }

    abstract QueuePeer open(Path dir, PeerOptions options);

    /** The short lower-case name used on the command line and in reports. */
    public String label() {
        return label;
    }

    /**
     * The peer named {@code name}: its label or its enum name, in any case.
     *
     * @param name for example {@code chronicle} or {@code RAW_MAPPED}.
     * @return the peer.
     */
    public static PeerType parse(String name) {
        String wanted = name.trim().toLowerCase(Locale.ROOT);
        for (PeerType type : values()) {
            if (type.label.equals(wanted) || type.name().toLowerCase(Locale.ROOT).equals(wanted)) {
                return type;
            }
        }
        throw new IllegalArgumentException("unknown peer '" + name + "'; use one of bigqueue, chronicle, tape, raw");
    }
}
