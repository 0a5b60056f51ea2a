package dev.snapstash.core.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A repository's Git alternates ({@code objects/info/alternates}): how a Bitbucket fork reads the objects of its
 * origin. Bitbucket writes the origin's objects directory as an absolute path, {@code
 * <home>/shared/data/repositories/<origin id>/objects}, so in a home copied or restored to another path the entry
 * still names the old home: there the origin is missing (the fork looks damaged) or, worse, is another instance's.
 *
 * @param repo the repository (a bare Git directory)
 * @param entries one per line of the file; none for a repository that is not a fork
 * @param unreadable why the file could not be read, or null
 */
record Alternates(Path repo, List<Entry> entries, String unreadable) {
  /** {@code .../repositories/<id>/objects} (or {@code /objects/} with a trailing slash). */
  private static final Pattern ORIGIN = Pattern.compile(".*/repositories/(\\d+)/objects/?");

  /**
   * One alternate object directory.
   *
   * @param recorded the line as written in the file
   * @param path that line as an absolute, normalised path (relative lines are relative to {@code objects/})
   * @param counterpart the same origin's objects next to this repository ({@code <store>/<origin id>/objects}),
   *     or null when the line does not name a Bitbucket repository's objects
   */
  record Entry(String recorded, Path path, Path counterpart) {
    /**
     * The part of {@link #recorded} before the repository store's path within the home, for example {@code
     * /var/atlassian/application-data/bitbucket} for {@code .../bitbucket/shared/data/repositories/1/objects}: the
     * home the file was written in. Null when the line does not end the way {@code home}'s stores do.
     */
    String recordedHome(Path home) {
      if (counterpart == null) {
        return null;
      }
      String inHome = home.toAbsolutePath().normalize().relativize(counterpart).toString();
      String line = recorded.endsWith("/") ? recorded.substring(0, recorded.length() - 1) : recorded;
      return line.endsWith("/" + inHome) ? line.substring(0, line.length() - inHome.length() - 1) : null;
    }
  }

  /** Reads {@code repo}'s alternates; never throws (an unreadable file is reported in {@link #unreadable}). */
  static Alternates of(Path repo) {
    Path file = repo.resolve("objects/info/alternates");
    if (!Files.exists(file)) {
      return new Alternates(repo, List.of(), null);
    }
    List<Entry> entries = new ArrayList<>();
    try {
      for (String raw : Files.readAllLines(file)) {
        String line = raw.strip();
        // git skips blank lines and comments in this file too.
        if (line.isEmpty() || line.startsWith("#")) {
          continue;
        }
        Path path = repo.resolve("objects").resolve(line).toAbsolutePath().normalize();
        Matcher m = ORIGIN.matcher(path.toString());
        Path counterpart =
            m.matches() ? repo.toAbsolutePath().normalize().getParent().resolve(m.group(1)).resolve("objects") : null;
        entries.add(new Entry(line, path, counterpart));
      }
    } catch (IOException | InvalidPathException e) {
      return new Alternates(repo, List.copyOf(entries), "cannot read " + file + ": " + e.getMessage());
    }
    return new Alternates(repo, List.copyOf(entries), null);
  }

  boolean isFork() {
    return !entries.isEmpty() || unreadable != null;
  }

  /**
   * The origins' object directories next to this repository that its file does not name itself: handed to Git
   * through {@code GIT_ALTERNATE_OBJECT_DIRECTORIES}, so a check of this copy reads the origin copied with it, not
   * whatever is (or is not) at the path the file names. Git still also looks at that path; it is consulted after
   * these, so it only matters for an object this copy lacks.
   */
  List<Path> remapped() {
    List<Path> dirs = new ArrayList<>();
    for (Entry e : entries) {
      if (e.counterpart() != null && !e.counterpart().equals(e.path()) && Files.isDirectory(e.counterpart())) {
        dirs.add(e.counterpart());
      }
    }
    return dirs;
  }

  /**
   * Points each fork of {@code home} whose alternates name an origin outside it (the home it was backed up from, at
   * another path) at that origin's copy in {@code home}, as Bitbucket itself writes the file: an absolute path to
   * {@code <home>/shared/data/repositories/<origin id>/objects}. Only lines whose origin is in {@code home} change;
   * the file is replaced atomically, its mode and owner kept. Returns the files rewritten, relative to {@code home}.
   */
  static List<String> repoint(Path home) {
    List<String> rewritten = new ArrayList<>();
    for (Path repo : GitLocks.repositories(home)) {
      Alternates a = of(repo);
      if (a.entries().isEmpty() || a.unreadable() != null) {
        continue;
      }
      List<String> lines = new ArrayList<>();
      boolean changed = false;
      for (Entry e : a.entries()) {
        if (e.counterpart() != null && !inside(e.path(), home) && Files.isDirectory(e.counterpart())) {
          lines.add(e.counterpart().toString());
          changed = true;
        } else {
          lines.add(e.recorded());
        }
      }
      if (!changed) {
        continue;
      }
      Path file = repo.resolve("objects/info/alternates");
      Path tmp = file.resolveSibling("alternates.snapstash-tmp");
      try {
        Files.write(tmp, lines);
        Files.setPosixFilePermissions(tmp, Files.getPosixFilePermissions(file));
        var owner = Files.getFileAttributeView(file, java.nio.file.attribute.PosixFileAttributeView.class).readAttributes();
        var view = Files.getFileAttributeView(tmp, java.nio.file.attribute.PosixFileAttributeView.class);
        try {
          view.setOwner(owner.owner());
          view.setGroup(owner.group());
        } catch (IOException notPermitted) {
          // Only root may give a file away; an unprivileged restore owns what it wrote anyway.
        }
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        rewritten.add(home.toAbsolutePath().normalize().relativize(file.toAbsolutePath().normalize()).toString());
      } catch (IOException e) {
        throw dev.snapstash.core.error.SnapstashException.storage("cannot repoint " + file + " at the restored home: " + e.getMessage(), e);
      }
    }
    return rewritten;
  }

  /** Whether {@code path} lies in {@code home}, symbolic links resolved (a home reached through a link is common). */
  static boolean inside(Path path, Path home) {
    try {
      return path.toRealPath().startsWith(home.toRealPath());
    } catch (IOException e) {
      return false;
    }
  }
}
