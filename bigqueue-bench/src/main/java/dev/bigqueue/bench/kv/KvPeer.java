package dev.bigqueue.bench.kv;

/** A latest-value-per-key store under test: puts persist, gets read memory. Thread-safe. */
interface KvPeer extends AutoCloseable {
    String name();

    void put(String key, byte[] value);

    byte[] get(String key);

    @Override
    void close();
}
