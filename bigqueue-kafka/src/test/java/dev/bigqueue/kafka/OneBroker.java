package dev.bigqueue.kafka;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * One Kafka broker (a child JVM, {@link KafkaBroker}) for all the tests of a class: started before
 * the first, stopped after the last, its data in a temporary directory. Tests may kill and restart it.
 */
abstract class OneBroker {
    @TempDir
    static Path brokerDir;

    static KafkaBroker broker;

    @BeforeAll
    static void startBroker() throws Exception {
        broker = KafkaBroker.start(brokerDir.resolve("kafka"));
    }

    @AfterAll
    static void stopBroker() {
        if (broker != null) {
            broker.close();
            broker = null;
        }
    }
}
