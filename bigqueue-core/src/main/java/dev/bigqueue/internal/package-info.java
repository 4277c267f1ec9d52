/**
 * Implementation of bigqueue. <b>Not API:</b> these classes are public only so that the
 * {@code bigqueue-consumers} module can reach {@link dev.bigqueue.internal.ConsumerStore} and
 * {@link dev.bigqueue.internal.ConsumerState}; they may change in any release. The whole on-disk
 * format is drawn in {@link dev.bigqueue.internal.FileFormat}.
 *
 * <h2>Who touches what, until when</h2>
 *
 * <p><b>Mapped memory</b> has one lifetime mechanism, {@link dev.bigqueue.internal.Mapping}: arena
 * files, {@code queue.meta} and consumer files are read and written only under a pin, pins are
 * never held while waiting, and a mapping is unmapped only after it is retired and its last pin
 * released. Close retires everything and waits for the pins to drain. The writer's lease (one pin
 * kept between appends) is given back on request ({@link dev.bigqueue.internal.WriterLock}).
 *
 * <p><b>Threads</b> are started only as the last step of a successful open and joined by close:
 * the maintenance thread (periodic flush, arena collection: {@link dev.bigqueue.internal.Maintenance})
 * and the pretoucher, both in the batch scheduling class, never the idle one (a starved thread
 * must hold nothing others wait for). A failed open starts none. The third, the sync thread of
 * {@code whenDurable} ({@link dev.bigqueue.internal.DurableFutures}), is started by the first
 * future that has to wait, never once close has begun, and ended by close, which waits for its
 * sync but not for the application code its futures' dependent stages run.
 *
 * <p><b>Locks</b>, in the only order they are ever nested (a thread holding one may take the ones
 * after it, never one before): a consumer's lock ({@link dev.bigqueue.internal.ConsumerLock}) →
 * the writer lock → the arena-creation lock → the collector's pass lock → the ArenaManager's lock.
 * A thread waits for pins to drain only holding no pin itself, and pin holders take none of these
 * locks while pinned (but the ArenaManager's, briefly, to signal a release), so such waits end. A
 * consumer's lock is held across application code (a sink, a step); nothing but that consumer's own
 * callers ever waits for it (close does not: see {@link dev.bigqueue.internal.ConsumerState}).
 *
 * <p><b>Shared state</b> is published through final fields, volatile fields holding immutable
 * values ({@link dev.bigqueue.internal.StreamPoint}: the earliest record, the drop mark, a tail
 * checkpoint), release/acquire stores of single longs (the tail, consumer positions), concurrent
 * maps of immutable values (the arena registry), or locks; each class says which.
 */
package dev.bigqueue.internal;
