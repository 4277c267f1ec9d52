package dev.bigqueue.consumer;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

/**
 * The in-memory map of a {@link LatestValues}: for every key, the newest record seen, a value or a
 * tombstone (kept so that an older record of a deleted key, arriving later, cannot bring it back).
 *
 * <p>"Newest" is by timestamp, then by offset, a total order since offsets are unique, and
 * {@link #apply} keeps the maximum. That makes applying records commutative and idempotent: the
 * map after any set of records, applied in any order and any number of times, is the same. The
 * store relies on it twice: {@code put} applies its own record before the follower reads it again,
 * and a snapshot may hold a few records newer than its offset, which the replay then applies again.
 *
 * <p>Threads: any number. Each key is updated atomically by {@link ConcurrentHashMap#compute};
 * {@link #live} is an {@link AtomicInteger} changed inside that same compute, so it is exact
 * whenever no apply is running.
 */
final class ValueMap {
    /** One key's newest record; value null for a tombstone. Immutable, published through the map. */
    record Entry(byte[] value, long timestamp, long offset) {
        boolean newerThan(Entry o) {
            return timestamp != o.timestamp ? timestamp > o.timestamp : offset > o.offset;
        }
    }

    private final ConcurrentHashMap<String, Entry> map;
    private final AtomicInteger live = new AtomicInteger();

    ValueMap(int expectedKeys) {
        this.map = new ConcurrentHashMap<>(Math.max(16, expectedKeys));
    }

    /** Keeps {@code e} for {@code key} if it is newer than what is there; {@code value} is not copied. */
    void apply(String key, Entry e) {
        map.compute(key, (k, old) -> {
            if (old == null || e.newerThan(old)) {
                int delta = (e.value() != null ? 1 : 0) - (old != null && old.value() != null ? 1 : 0);
                if (delta != 0) {
                    live.addAndGet(delta);
                }
                return e;
            }
            return old;
        });
    }

    /** The current value (not a copy), null if absent or deleted. */
    byte[] get(String key) {
        Entry e = map.get(key);
        return e == null ? null : e.value();
    }

    Entry entry(String key) {
        return map.get(key);
    }

    int live() {
        return live.get();
    }

    /** Keys with a value (not deleted), sorted; a copy. */
    Set<String> keys() {
        Set<String> keys = new TreeSet<>();
        for (Map.Entry<String, Entry> e : map.entrySet()) {
            if (e.getValue().value() != null) {
                keys.add(e.getKey());
            }
        }
        return keys;
    }

    /** Entries with tombstones, for a snapshot; each one is at least as new as when the call began. */
    void forEach(BiConsumer<String, Entry> action) {
        map.forEach(action);
    }

    /** The largest timestamp of any entry; Long.MIN_VALUE when empty. */
    long maxTimestamp() {
        long[] max = {Long.MIN_VALUE};
        map.forEach((k, e) -> max[0] = Math.max(max[0], e.timestamp()));
        return max[0];
    }

    /**
     * Removes every tombstone stamped at or before {@code cutoffMillis} (with a retention of ZERO:
     * every one so far, even of this millisecond) whose record lies below {@code belowOffset}, each
     * only if it is still the key's entry (a record applied meanwhile stays). A tombstone at or past
     * {@code belowOffset} stays: records of other writers that came before it in the queue may not
     * have been applied yet, and without it the first of them would bring the key back.
     *
     * @return what was removed, for {@link #restore} if the checkpoint that forgot them fails.
     */
    Map<String, Entry> forgetTombstones(long cutoffMillis, long belowOffset) {
        Map<String, Entry> removed = new HashMap<>();
        for (Map.Entry<String, Entry> e : map.entrySet()) {
            Entry v = e.getValue();
            if (v.value() == null && v.timestamp() <= cutoffMillis && v.offset() < belowOffset
                    && map.remove(e.getKey(), v)) {
                removed.put(e.getKey(), v);
            }
        }
        return removed;
    }

    /**
     * Applies again what {@link #forgetTombstones} removed: the map is then the one a restart from
     * the previous snapshot makes, a record of such a key applied meanwhile included.
     */
    void restore(Map<String, Entry> forgotten) {
        forgotten.forEach(this::apply);
    }

    /** Entries with tombstones. */
    int entries() {
        return map.size();
    }
}
