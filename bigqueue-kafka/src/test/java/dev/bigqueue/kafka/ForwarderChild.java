package dev.bigqueue.kafka;

import dev.bigqueue.BigQueue;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;

/**
 * A forwarding process for {@link KafkaChaosTest}, to be killed with {@code kill -9} at any
 * point. Args: QUEUE_DIR BOOTSTRAP TOPIC ENQUEUE [finish]. Prints {@code OPENED}, appends ENQUEUE
 * messages (each naming its own offset), prints {@code ENQUEUED tail}, starts a forwarder, prints
 * {@code FROM offset} and then {@code C offset} after every local commit; with {@code finish} it
 * prints {@code DONE tail} once everything is committed and exits.
 */
public final class ForwarderChild {
    private ForwarderChild() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        long enqueue = Long.parseLong(args[3]);
        boolean finish = args.length > 4 && args[4].equals("finish");
        try (BigQueue q = BigQueue.open(dir, KafkaForwarderTest.config())) {
            System.out.println("OPENED");
            System.out.flush();
            for (long i = 0; i < enqueue; i++) {
                q.enqueueString(Delivered.payload(q.tailOffset()));
            }
            long tail = q.tailOffset();
            System.out.println("ENQUEUED " + tail);
            System.out.flush();
            CountDownLatch done = new CountDownLatch(1);
            Properties p = new Properties();
            p.put("bootstrap.servers", args[1]);
            try (KafkaForwarder f = KafkaForwarder.builder().queue(q).consumer("to-kafka").topic(args[2])
                    .producerProperties(p).maxInFlight(2_000).onCommit(c -> {
                        System.out.println("C " + c);
                        System.out.flush();
                        if (c >= tail) {
                            done.countDown();
                        }
                    }).build()) {
                f.start();
                System.out.println("FROM " + f.committedOffset());
                System.out.flush();
                if (!finish) {
                    Thread.currentThread().join(); // until kill -9
                }
                if (f.committedOffset() < tail) {
                    done.await();
                }
            }
            System.out.println("DONE " + tail);
            System.out.flush();
        }
    }
}
