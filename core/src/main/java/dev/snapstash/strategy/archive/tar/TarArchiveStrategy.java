package dev.snapstash.strategy.archive.tar;

import com.exceptionfactory.jagged.RecipientStanzaReader;
import com.exceptionfactory.jagged.RecipientStanzaWriter;
import com.exceptionfactory.jagged.framework.stream.StandardDecryptingChannelFactory;
import com.exceptionfactory.jagged.framework.stream.StandardEncryptingChannelFactory;
import com.exceptionfactory.jagged.x25519.X25519RecipientStanzaReaderFactory;
import com.github.luben.zstd.ZstdInputStream;
import dev.snapstash.core.config.Secret;
import dev.snapstash.core.error.ErrorKind;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.ArchiveStrategy;
import dev.snapstash.core.spi.Findings;
import dev.snapstash.core.spi.UndoLog;
import dev.snapstash.core.util.Tags;
import dev.snapstash.strategy.archive.Sha256Sums;
import dev.snapstash.strategy.archive.TarReader;
import dev.snapstash.strategy.archive.TarZst;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.FileOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.DigestOutputStream;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * {@code archive[].type: tar}: each backup as one {@code <tag>.tar.zst} (or {@code .tar.zst.age}) in a directory,
 * streamed from the backup directory through zstd (and age) straight into a temporary file, which is fsync'ed and
 * renamed into place only when whole. The directory is the catalogue: {@link #list} reads names and sizes only.
 */
final class TarArchiveStrategy implements ArchiveStrategy {
  static final String PLAIN = ".tar.zst";
  static final String ENCRYPTED = ".tar.zst.age";
  static final String SUM = ".sha256";
  static final String PARTIAL_PREFIX = ".partial-";
  private static final java.nio.file.attribute.FileAttribute<?> OWNER_ONLY =
      java.nio.file.attribute.PosixFilePermissions.asFileAttribute(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);

  private final Path dir;
  private final int level;
  private final int workers;
  private final List<RecipientStanzaWriter> recipients;
  private final Secret identity;

  TarArchiveStrategy(Path dir, int level, int workers, List<RecipientStanzaWriter> recipients, Secret identity) {
    this.dir = dir;
    this.level = level;
    this.workers = workers == 0 ? Runtime.getRuntime().availableProcessors() : workers;
    this.recipients = List.copyOf(recipients);
    this.identity = identity;
  }

  @Override
  public String name() {
    return "tar";
  }

  private String suffix() {
    return recipients.isEmpty() ? PLAIN : ENCRYPTED;
  }

  @Override
  public void check(Findings findings) {
    if (!Files.isDirectory(dir)) {
      findings.problem("path", dir + " is not a directory; create it (another disk or a mounted share) or fix archive[].path");
    } else if (!Files.isWritable(dir)) {
      findings.problem("path", dir + " is not writable by this user; fix its permissions or archive[].path", ErrorKind.STORAGE);
    } else {
      findings.ok("path", dir + (recipients.isEmpty() ? ", unencrypted" : ", encrypted to " + recipients.size() + " age recipient(s)"));
    }
  }

  @Override
  public Stored store(Source source, UndoLog undo) {
    String fileName = source.tag() + suffix();
    Path archive = dir.resolve(fileName);
    Path checksum = dir.resolve(fileName + SUM);
    Path partial = dir.resolve(PARTIAL_PREFIX + fileName);
    if (!Files.isDirectory(dir)) {
      throw SnapstashException.storage("archive directory " + dir + " does not exist; create it or fix archive[].path", null);
    }
    if (Files.exists(archive)) {
      throw SnapstashException.precondition(archive + " exists already; a tag is archived once");
    }
    RemovePartialArchive step = new RemovePartialArchive(partial, checksum, archive);
    undo.add(step);
    try {
      MessageDigest whole = sha256();
      long members;
      long bytes;
      try (SyncedFile file = new SyncedFile(partial)) {
        DigestOutputStream digested = new DigestOutputStream(new BufferedOutputStream(file, 1 << 16), whole);
        try (OutputStream encrypted = recipients.isEmpty() ? digested : encrypting(digested)) {
          members = TarZst.write(encrypted, source.tag(), source.dir(), level, workers);
        }
        bytes = file.written();
      }
      String hex = HexFormat.of().formatHex(whole.digest());
      // The checksum file first, so that a complete archive never lacks one; the archive's rename is the commit.
      writeAtomically(checksum, Sha256Sums.line(hex, fileName));
      move(partial, archive);
      syncDirectory();
      undo.done(step);
      return new Stored(source.tag(), archive.toString(), bytes, hex, members);
    } catch (IOException | RuntimeException e) {
      try {
        step.undo(null);
        undo.done(step);
      } catch (RuntimeException cleanup) {
        e.addSuppressed(cleanup);
      }
      if (e instanceof SnapstashException s) {
        throw s;
      }
      if (Thread.currentThread().isInterrupted() || e instanceof java.io.InterruptedIOException
          || e instanceof java.nio.channels.ClosedByInterruptException) {
        throw new SnapstashException(ErrorKind.INTERRUPTED, "the archive to " + dir + " was interrupted; its partial file was removed", e);
      }
      throw SnapstashException.storage("cannot write the archive " + archive + ": " + e.getMessage(), e);
    }
  }

  private OutputStream encrypting(OutputStream out) throws IOException {
    try {
      return Channels.newOutputStream(new StandardEncryptingChannelFactory().newEncryptingChannel(Channels.newChannel(out), recipients));
    } catch (GeneralSecurityException e) {
      throw SnapstashException.internal("cannot start the age encryption: " + e.getMessage(), e);
    }
  }

  @Override
  public List<Archived> list() {
    List<Archived> out = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path f : files) {
        String n = f.getFileName().toString();
        String tag = tagOf(n);
        if (tag == null || n.startsWith(".")) {
          continue;
        }
        var attrs = Files.readAttributes(f, java.nio.file.attribute.BasicFileAttributes.class);
        out.add(new Archived(tag, startedAt(tag, attrs.lastModifiedTime().toInstant()), attrs.size(), attrs.lastModifiedTime().toInstant()));
      }
    } catch (java.nio.file.NoSuchFileException e) {
      throw SnapstashException.storage("archive directory " + dir + " does not exist; fix archive[].path", e);
    } catch (IOException e) {
      throw SnapstashException.storage("cannot list the archive directory " + dir + ": " + e.getMessage(), e);
    }
    out.sort(Comparator.comparing(Archived::startedAt).thenComparing(Archived::tag).reversed());
    return out;
  }

  /** The tag an archive's file name holds, or null for any other file (checksums, partial files, strangers). */
  static String tagOf(String fileName) {
    for (String suffix : List.of(ENCRYPTED, PLAIN)) {
      if (fileName.endsWith(suffix) && fileName.length() > suffix.length()) {
        return fileName.substring(0, fileName.length() - suffix.length());
      }
    }
    return null;
  }

  /** From the tag's UTC stamp, as the local store's retention orders; the file's time for a tag without one. */
  private static Instant startedAt(String tag, Instant fallback) {
    if (tag.length() > 16 && tag.charAt(tag.length() - 16) == '-') {
      try {
        return Instant.from(STAMP.parse(tag.substring(tag.length() - 15)));
      } catch (DateTimeParseException e) {
        // not a tag snapstash made
      }
    }
    return fallback;
  }

  private Path find(String tag) {
    for (String suffix : List.of(PLAIN, ENCRYPTED)) {
      Path p = dir.resolve(tag + suffix);
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    return null;
  }

  @Override
  public Reader open(String tag) {
    Path archive = find(tag);
    if (archive == null) {
      throw SnapstashException.precondition("there is no archive of " + tag + " in " + dir + "; `snapstash list --from` shows what there is");
    }
    Path checksum = archive.resolveSibling(archive.getFileName() + SUM);
    String expected;
    try {
      Map<String, String> sums = Sha256Sums.parse(Files.readString(checksum, StandardCharsets.UTF_8));
      expected = sums.get(archive.getFileName().toString());
      if (expected == null) {
        throw new IllegalArgumentException("it does not name " + archive.getFileName());
      }
    } catch (IOException | IllegalArgumentException e) {
      throw new SnapstashException(ErrorKind.VERIFICATION, "cannot read the checksum of " + archive + " from " + checksum + ": " + e.getMessage(), e);
    }
    boolean encrypted = archive.getFileName().toString().endsWith(ENCRYPTED);
    List<RecipientStanzaReader> readers = encrypted ? identities(archive) : List.of();
    InputStream file = null;
    try {
      file = new BufferedInputStream(Files.newInputStream(archive), 1 << 16);
      DigestInputStream raw = new DigestInputStream(file, sha256());
      InputStream plain = encrypted
          ? Channels.newInputStream(new StandardDecryptingChannelFactory().newDecryptingChannel(Channels.newChannel(raw), readers))
          : raw;
      return new TarReader(tag, raw, new BufferedInputStream(new ZstdInputStream(plain), 1 << 16), expected);
    } catch (IOException | GeneralSecurityException e) {
      closeQuietly(file);
      throw new SnapstashException(
          encrypted && e instanceof GeneralSecurityException ? ErrorKind.CONFIG : ErrorKind.VERIFICATION,
          "cannot open the archive " + archive + ": " + e.getMessage()
              + (encrypted ? " (is archive[].identity the key of one of its recipients?)" : ""), e);
    }
  }

  private List<RecipientStanzaReader> identities(Path archive) {
    if (identity == null) {
      throw SnapstashException.config(archive + " is encrypted; set archive[].identity to the age identity that decrypts it");
    }
    String text;
    try {
      text = identity.reveal();
    } catch (SnapstashException e) {
      throw new SnapstashException(e.kind(), "archive[].identity: " + e.getMessage(), e);
    }
    List<RecipientStanzaReader> out = new ArrayList<>();
    for (String line : text.split("\n")) {
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#")) {
        continue;
      }
      try {
        out.add(X25519RecipientStanzaReaderFactory.newRecipientStanzaReader(l));
      } catch (GeneralSecurityException | IllegalArgumentException e) {
        // the key itself never goes into a message
        throw SnapstashException.config("archive[].identity holds a line that is not an age X25519 identity (AGE-SECRET-KEY-1…)");
      }
    }
    if (out.isEmpty()) {
      throw SnapstashException.config("archive[].identity holds no age identity (AGE-SECRET-KEY-1…)");
    }
    return out;
  }

  @Override
  public void delete(String tag) {
    try {
      for (String suffix : List.of(PLAIN, ENCRYPTED)) {
        Path p = dir.resolve(tag + suffix);
        // The archive first: a copy without its checksum is not listed as damaged, one without data would be lost.
        Files.deleteIfExists(p);
        Files.deleteIfExists(p.resolveSibling(p.getFileName() + SUM));
      }
      syncDirectory();
    } catch (IOException e) {
      throw SnapstashException.storage("cannot delete the archive of " + tag + " in " + dir + ": " + e.getMessage(), e);
    }
  }

  private void writeAtomically(Path target, String text) throws IOException {
    Path tmp = target.resolveSibling(target.getFileName() + ".partial");
    Files.deleteIfExists(tmp);
    try (FileChannel ch = FileChannel.open(tmp, java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), OWNER_ONLY)) {
      ch.write(java.nio.ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
      ch.force(true);
    }
    move(tmp, target);
  }

  private static void move(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException("the file system of " + to.getParent() + " cannot rename atomically", e);
    }
  }

  private void syncDirectory() throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // Some network file systems cannot open a directory for fsync; the rename is then as durable as they make it.
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void closeQuietly(InputStream in) {
    if (in != null) {
      try {
        in.close();
      } catch (IOException e) {
        // already failing
      }
    }
  }

  /** The temporary file: counts what is written, and is on disk (fsync) before it closes. */
  private static final class SyncedFile extends FilterOutputStream {
    private final FileOutputStream file;
    private long written;
    private boolean closed;

    SyncedFile(Path path) throws IOException {
      this(create(path));
    }

    /** Owner-only: the archive holds the home's secrets (bitbucket.properties) and the database. */
    private static FileOutputStream create(Path path) throws IOException {
      Files.deleteIfExists(path); // a killed run's, of this very tag
      Files.createFile(path, OWNER_ONLY);
      return new FileOutputStream(path.toFile());
    }

    private SyncedFile(FileOutputStream file) {
      super(file);
      this.file = file;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      file.write(b, off, len);
      written += len;
    }

    @Override
    public void write(int b) throws IOException {
      file.write(b);
      written++;
    }

    long written() {
      return written;
    }

    @Override
    public void close() throws IOException {
      if (closed) {
        return;
      }
      closed = true;
      try {
        file.flush();
        file.getFD().sync();
      } finally {
        file.close();
      }
    }
  }
}
