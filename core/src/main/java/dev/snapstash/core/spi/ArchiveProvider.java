package dev.snapstash.core.spi;

/**
 * The provider of an archive strategy: an entry of {@code archive}, whose {@code name} and {@code keep-*} keys the
 * engine reads (they are every destination's), and whose other keys are this provider's settings.
 */
public interface ArchiveProvider<S extends Record> extends Provider<S, ArchiveStrategy> {
  @Override
  default StrategyKind kind() {
    return StrategyKind.ARCHIVE;
  }
}
