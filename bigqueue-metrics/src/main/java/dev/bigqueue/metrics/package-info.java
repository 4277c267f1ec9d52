/**
 * Micrometer meters for bigqueue: {@link dev.bigqueue.metrics.QueueMetrics#bind} registers gauges
 * and counters for a queue's offsets, size, arenas and disk use, each named consumer's position
 * and lag, and, if asked, a timer of its syncs to disk fed by the core's JDK Flight Recorder event.
 * Optional: an application that does not want Micrometer leaves this module out.
 *
 * <pre>{@code
 * BigQueue queue = BigQueue.open(dir);
 * QueueMetrics metrics = QueueMetrics.bind(queue, Consumers.of(queue), registry);
 * // in a Spring Boot application, a MeterBinder bean:
 * // @Bean MeterBinder queueMetrics(BigQueue queue) { return r -> QueueMetrics.bind(queue, Consumers.of(queue), r); }
 * }</pre>
 */
package dev.bigqueue.metrics;
