package dev.bigqueue.kafka;

import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.ApiException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.UnknownProducerIdException;

/**
 * What the forwarder makes of a failed session: retry it with back-off, or stop for good because
 * no retry can succeed. Stopping costs the user a restart; retrying what cannot succeed costs
 * unbounded duplicates, since each attempt resends every record after the failed one.
 */
final class Failures {
    private Failures() {
    }

    /**
     * Failures that no retry can cure: the record, the topic, the settings or the credentials must
     * change. Retrying one would resend, again and again, every record after it that Kafka had
     * acknowledged in other partitions. Kafka marks what a retry may cure as RetriableException;
     * the idempotence errors below are cured by the new producer each retry starts with.
     */
    static boolean isFatal(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof ConfigException) {
                // The producer's constructor refused the settings: the same ones fail again. Except that
                // it says "No resolvable bootstrap urls" (a ConfigException too) when DNS does not know
                // the brokers' names yet or any more, which an outage may cause and its end cures.
                String m = c.getMessage();
                return m == null || !m.contains("resolvable");
            }
        }
        if (e instanceof OutOfOrderSequenceException || e instanceof UnknownProducerIdException
                || e instanceof InvalidProducerEpochException) {
            return false;
        }
        return e instanceof SerializationException || (e instanceof ApiException && !(e instanceof RetriableException));
    }

    static String describe(Throwable e) {
        String d = e.getClass().getSimpleName() + ": " + e.getMessage();
        // "Failed to construct kafka producer" says nothing by itself: the cause names the property
        return e.getCause() == null ? d : d + " (" + describe(e.getCause()) + ")";
    }
}
