package dev.bigqueue.consumer;

import dev.bigqueue.BigQueue;
import java.nio.file.Path;

/**
 * The child JVM of {@link ConsumerPermissionTest}, run as another user than the files' owner:
 * opens the queue in {@code args[0]} and tries each consumer of {@code args[1..]}, printing
 * {@code OPENED name} or {@code REFUSED name <message>}.
 */
public final class PermissionChild {
    private PermissionChild() {
    }

    public static void main(String[] args) throws Exception {
        try (BigQueue q = BigQueue.open(Path.of(args[0]), Fixtures.small())) {
            Consumers consumers = Consumers.of(q);
            for (int i = 1; i < args.length; i++) {
                try {
                    consumers.open(args[i]);
                    System.out.println("OPENED " + args[i]);
                } catch (RuntimeException e) {
                    System.out.println("REFUSED " + args[i] + " " + e.getMessage().replace('\n', ' '));
                }
            }
        }
        System.out.println("END");
    }
}
