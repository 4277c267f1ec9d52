/**
 * Implementation of bigqueue. <b>Not API:</b> these classes are public only so that the
 * {@code bigqueue-consumers} module can share the record log and the position files; they may
 * change in any release. The whole on-disk format is drawn in {@link dev.bigqueue.internal.FileFormat}.
 */
package dev.bigqueue.internal;
