package dev.snapstash.core.engine;

import dev.snapstash.core.spi.ArchiveStrategy;

/**
 * One configured entry of {@code archive}: its name, the strategy that writes there, and which copies it keeps.
 *
 * @param retention this destination's own rules, independent of the local {@code retention.*}
 */
public record ArchiveDestination(String name, ArchiveStrategy strategy, Retention.Policy retention) {}
