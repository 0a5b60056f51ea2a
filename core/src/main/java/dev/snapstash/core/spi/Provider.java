package dev.snapstash.core.spi;

import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * A strategy package's entry point, found by {@link Providers} through {@link java.util.ServiceLoader}: its name,
 * its settings (a record of {@code @Key}-annotated components, bound from the configuration section {@code
 * <kind>.<name>}, documented in the generated reference), how to build the strategy, and the undo steps it journals.
 * The engine and the command line know strategies only through this interface and the strategy interfaces.
 *
 * <p>Implementations are stateless and have a public no-argument constructor.
 *
 * @param <S> the settings record; {@link NoSettings} for a strategy without any
 * @param <T> the strategy interface of its kind
 */
public interface Provider<S extends Record, T extends Strategy> {
  StrategyKind kind();

  /** The configuration name: the value of {@code <kind>.type}, and the name of its settings section. */
  String name();

  /** One line for the reference of {@code <kind>.type}: what choosing it means. */
  String summary();

  Class<S> settingsType();

  /**
   * Builds the strategy. Validates {@code settings} first and throws {@link
   * dev.snapstash.core.error.SnapstashException} (CONFIG) naming the first wrong key by its full path ({@code
   * database.postgresql.port}). Must not touch anything outside this process: reaching a server is {@link
   * Strategy}'s preflight's business.
   *
   * @param settings the bound section; never null (a section left out is bound from its keys' defaults)
   */
  T create(S settings, Services services);

  /**
   * The undo steps this strategy journals, by the name the journal gives them ({@code "unlock"}): each is a record
   * that knows how to replay itself ({@link Undo#undo}). Names are global: two providers must not claim one.
   */
  default Map<String, Class<? extends Undo>> undoTypes() {
    return Map.of();
  }

  /**
   * Checks and normalisations of single values of the settings, by key name ({@code "port"}), applied by the
   * configuration loader as it reads them, so that a wrong value is reported with its file and line. Each returns
   * the value to keep or throws {@link IllegalArgumentException} with a phrase that follows the quoted value.
   */
  default Map<String, UnaryOperator<Object>> rules() {
    return Map.of();
  }

  /** The settings of a strategy that has none: the empty section. */
  record NoSettings() {}
}
