package dev.snapstash.core.spi;

/**
 * The kinds of strategy a backup is assembled from, each with its configuration section: {@code quiesce.type},
 * {@code disk.type}, {@code database.type}, and the entries of
 * {@code notify} and {@code archive}.
 */
public enum StrategyKind {
  QUIESCE("quiesce", Quiescer.class),
  DISK("disk", DiskStrategy.class),
  DATABASE("database", DatabaseStrategy.class),
  NOTIFY("notify", Notifier.class),
  ARCHIVE("archive", ArchiveStrategy.class);

  private final String key;
  private final Class<? extends Strategy> type;

  StrategyKind(String key, Class<? extends Strategy> type) {
    this.key = key;
    this.type = type;
  }

  /** The configuration key of this kind's section ({@code disk}), or list ({@code notify}). */
  public String key() {
    return key;
  }

  /** The interface every strategy of this kind implements. */
  public Class<? extends Strategy> type() {
    return type;
  }
}
