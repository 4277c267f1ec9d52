package dev.bigqueue.internal;

import dev.bigqueue.QueueClosedException;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Which engine each open queue object wraps, so that the named-consumer module can reach it from
 * the public {@code BigQueue} it is given without a public method on {@code BigQueue}. The public
 * face registers itself once it is built and forgets itself when it closes; this class knows it
 * only as a key, so the dependency runs one way, from the public package to this one.
 */
public final class Engines {
    private static final Map<Object, QueueEngine> OPEN = Collections.synchronizedMap(new IdentityHashMap<>());

    private Engines() {
    }

    public static void register(Object queue, QueueEngine engine) {
        OPEN.put(queue, engine);
    }

    public static void forget(Object queue) {
        OPEN.remove(queue);
    }

    /**
     * The engine of an open queue.
     *
     * @throws QueueClosedException if {@code queue} was closed.
     */
    public static QueueEngine of(Object queue) {
        QueueEngine engine = OPEN.get(queue);
        if (engine == null) {
            throw new QueueClosedException("queue " + queue + " is closed; open it again with BigQueue.open(..)");
        }
        return engine;
    }
}
