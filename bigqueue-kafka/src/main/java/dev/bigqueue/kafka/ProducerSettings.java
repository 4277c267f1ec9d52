package dev.bigqueue.kafka;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The producer configuration a forwarder runs with: the user's properties, checked, with what
 * the forwarder's guarantees need forced on. At-least-once in order needs {@code acks=all} (a
 * message is committed locally only once every in-sync replica has it) and idempotence (a
 * producer's own retries neither duplicate nor reorder); order per key also needs a record sent
 * again after a failure to land in the partition of its first attempt (no custom partitioner, keys
 * not ignored). A user setting that contradicts them is refused with a message naming the
 * property, rather than silently overridden; so is one that only KafkaProducer's constructor
 * would refuse, which the forwarder would otherwise meet at every retry.
 */
final class ProducerSettings {
    /** Default bound on how long send() waits for metadata or buffer space while the broker is away. */
    static final long DEFAULT_MAX_BLOCK_MS = 10_000;

    private ProducerSettings() {
    }

    /**
     * The properties to create producers with.
     *
     * @throws IllegalArgumentException naming the property that is missing, contradicts the
     *     forwarder's guarantees or that Kafka's own validation refuses.
     */
    static Properties resolve(Properties user, String clientId) {
        Map<String, Object> p = new HashMap<>();
        for (String name : user.stringPropertyNames()) { // includes the Properties' defaults
            p.put(name, user.getProperty(name));
        }
        user.forEach((k, v) -> p.put(String.valueOf(k), v));
        Object servers = p.get(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG);
        if (servers == null || String.valueOf(servers).isBlank()) {
            throw new IllegalArgumentException("producerProperties must set bootstrap.servers"
                    + " (host:port[,host:port...]): the Kafka brokers to forward to");
        }
        refuseUnless(p, ProducerConfig.ACKS_CONFIG, v -> v.equals("all") || v.equals("-1"),
                "the forwarder commits a message locally only once every in-sync replica has it; remove acks or"
                + " set it to all");
        refuseUnless(p, ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, v -> v.equals("true"),
                "the forwarder needs idempotence so that the producer's retries neither duplicate nor reorder;"
                + " remove enable.idempotence or set it to true");
        refuseUnless(p, ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, v -> parsesAtMost(v, 5),
                "an idempotent producer keeps order with at most 5 requests in flight per connection; set 1..5"
                + " or remove it");
        refuseUnless(p, ProducerConfig.RETRIES_CONFIG, v -> !v.equals("0"),
                "an idempotent producer needs retries; remove retries");
        refuseUnless(p, ProducerConfig.TRANSACTIONAL_ID_CONFIG, String::isEmpty,
                "the forwarder sends without transactions (a transactional producer refuses every send outside"
                + " beginTransaction/commitTransaction); remove transactional.id");
        refuseUnless(p, ProducerConfig.PARTITIONER_CLASS_CONFIG, v -> false,
                "a record sent again after a failure must land in the partition its first attempt went to, or"
                + " the order per key breaks; the forwarder picks keyless records' partitions and Kafka's key hash"
                + " the others'; remove partitioner.class");
        refuseUnless(p, ProducerConfig.PARTITIONER_IGNORE_KEYS_CONFIG, v -> v.equals("false"),
                "keyed records would go to Kafka's sticky partitioner, so a record sent again after a failure could"
                + " land in another partition than its first attempt, after later records of its key; remove"
                + " partitioner.ignore.keys or set it to false");
        for (String serializer : new String[] {ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
            ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG}) {
            refuseUnless(p, serializer, v -> v.equals(ByteArraySerializer.class.getName()),
                    "the forwarder sends the queue's bytes as they are; remove " + serializer);
        }
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, Long.toString(DEFAULT_MAX_BLOCK_MS));
        p.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, clientId);
        Properties out = new Properties();
        out.putAll(p);
        ProducerConfig config;
        try {
            // Kafka's own checks (names, types, ranges), now rather than at the first connection.
            config = new ProducerConfig(out);
        } catch (ConfigException e) {
            throw new IllegalArgumentException("producerProperties: " + e.getMessage(), e);
        }
        checkDeliveryTimeout(config, p.containsKey(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG));
        return out;
    }

    /**
     * The check KafkaProducer's constructor makes and ProducerConfig does not: without it build()
     * accepted settings that fail every producer the forwarder creates. As Kafka does, a
     * delivery.timeout.ms left at its default is raised by the producer instead (with a WARN).
     */
    private static void checkDeliveryTimeout(ProducerConfig config, boolean setByUser) {
        long delivery = config.getInt(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG);
        long linger = Math.min(config.getLong(ProducerConfig.LINGER_MS_CONFIG), Integer.MAX_VALUE);
        long request = config.getInt(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG);
        if (setByUser && delivery < Math.min(linger + request, Integer.MAX_VALUE)) {
            throw new IllegalArgumentException("producerProperties: delivery.timeout.ms=" + delivery + " is less than"
                    + " linger.ms + request.timeout.ms = " + linger + " + " + request + ", which the Kafka producer"
                    + " refuses: raise delivery.timeout.ms to at least " + (linger + request) + " or lower the others");
        }
    }

    private interface Check {
        boolean ok(String value);
    }

    private static void refuseUnless(Map<String, Object> p, String name, Check check, String why) {
        Object v = p.get(name);
        if (v == null) {
            return;
        }
        String value = v instanceof Class<?> c ? c.getName() : String.valueOf(v).trim();
        if (!check.ok(value) && !check.ok(value.toLowerCase(Locale.ROOT))) {
            throw new IllegalArgumentException("producerProperties: " + name + "=" + v + " is not allowed: " + why);
        }
    }

    private static boolean parsesAtMost(String v, int max) {
        try {
            int n = Integer.parseInt(v);
            return n >= 1 && n <= max;
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
