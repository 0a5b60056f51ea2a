package dev.snapstash.core.process;

import java.util.Collection;

/** Replaces secret values in text that is about to be logged or shown. */
public final class Redactor {
  public static final String MASK = "******";

  private Redactor() {}

  public static String redact(String text, Collection<String> secrets) {
    if (text == null || secrets.isEmpty()) {
      return text;
    }
    String out = text;
    for (String s : secrets) {
      // Very short values would mask ordinary words; they are not secrets worth the name anyway.
      if (s != null && s.length() >= 3) {
        out = out.replace(s, MASK);
      }
    }
    return out;
  }
}
