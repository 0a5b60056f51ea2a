package dev.snapstash.core.config;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Documents one configuration key on the record component that holds it. The loader applies {@link #def()} when
 * the key is absent and rejects absent {@link #required()} keys; the reference documentation is generated from
 * the same annotations, so docs and behaviour cannot drift.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.RECORD_COMPONENT, ElementType.FIELD, ElementType.PARAMETER, ElementType.METHOD})
public @interface Key {
  /** One or two sentences: what the key means. */
  String doc();

  /** The default as it would be written in YAML, or "" for none. */
  String def() default "";

  /** Whether the key must be present (after defaults and environment overrides). */
  boolean required() default false;

  /** Whether the value is a secret reference ({@code ${env:NAME}} or {@code ${file:/path}}). */
  boolean secret() default false;

  /**
   * On a {@link Choice} (or a list of them): the kind of strategy it chooses, by its key ({@code disk}). Its keys
   * are then {@code type} (defaulting to {@link #def()}) and one section per strategy of that kind, whose keys
   * are the ones that strategy's provider declares; a list's entries hold {@code type} and that strategy's keys.
   */
  String strategies() default "";

  /**
   * On a list of {@link Choice}s: a record of keys every entry holds whatever its type (an archive destination's
   * {@code name} and retention), bound into {@link Choice#common()}; {@code Record.class} for none.
   */
  Class<? extends Record> common() default Record.class;
}
