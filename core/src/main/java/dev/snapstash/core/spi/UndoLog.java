package dev.snapstash.core.spi;

/**
 * Where a strategy records a side effect before relying on it, and marks it undone when it undid it itself. An
 * implementation makes {@link #add} durable (written and fsync'ed) before returning, so that a process killed at
 * any later instant leaves enough on disk for {@code snapstash recover}.
 */
public interface UndoLog {
  void add(Undo undo);

  void done(Undo undo);

  UndoLog NONE =
      new UndoLog() {
        @Override
        public void add(Undo undo) {}

        @Override
        public void done(Undo undo) {}
      };
}
