package dev.bigqueue.internal;

import dev.bigqueue.BigQueue;
import java.util.function.Function;

/**
 * Lets the named-consumer module reach a {@link BigQueue}'s engine without a public method on
 * BigQueue. BigQueue registers the accessor when its class is initialised.
 */
public final class InternalAccess {
    private static volatile Function<BigQueue, QueueEngine> accessor;

    private InternalAccess() {
    }

    public static void register(Function<BigQueue, QueueEngine> engineOf) {
        accessor = engineOf;
    }

    public static QueueEngine engine(BigQueue queue) {
        return accessor.apply(queue);
    }
}
