package dev.snapstash.strategy.disk.rsync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.snapstash.testing.Tools;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The C library's listing and its Java fallback give the same entries with the same attributes. */
class ListingTest {
  @TempDir Path tmp;

  @Test
  void bothListingsGiveTheSameEntriesAndAttributes() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("repo"));
    Files.createDirectories(dir.resolve("objects/ab"));
    Files.writeString(dir.resolve("HEAD"), "ref: refs/heads/main\n");
    Files.write(dir.resolve("big"), new byte[70_000]);
    Files.createLink(dir.resolve("linked"), dir.resolve("HEAD"));
    Files.createSymbolicLink(dir.resolve("link"), Path.of("objects"));
    Files.createFile(dir.resolve("empty"));
    Files.setPosixFilePermissions(dir.resolve("HEAD"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    if (utf8()) {
      Files.writeString(dir.resolve("d\u00e9j\u00e0-vu"), "a name beyond ASCII");
    }
    Listing nativeListing = nativeListing();
    Listing java = JavaListing.INSTANCE;

    byte[] path = Inotify.pathBytes(dir.toString());
    List<Listing.Entry> expected = sorted(nativeListing.list(path, dir.toString()));
    List<Listing.Entry> actual = sorted(java.list(path, dir.toString()));
    assertThat(actual).hasSize(utf8() ? 7 : 6).hasSameSizeAs(expected);
    for (int i = 0; i < expected.size(); i++) {
      assertThat(actual.get(i).name()).as("name %d", i).isEqualTo(expected.get(i).name());
      assertThat(actual.get(i).stat()).as(new String(expected.get(i).name(), StandardCharsets.UTF_8)).isEqualTo(expected.get(i).stat());
    }
    assertThat(java.lstat(path, dir.toString())).isEqualTo(nativeListing.lstat(path, dir.toString()));
    Path file = dir.resolve("HEAD");
    byte[] filePath = Inotify.pathBytes(file.toString());
    assertThat(java.lstat(filePath, file.toString())).isEqualTo(nativeListing.lstat(filePath, file.toString()));
  }

  /** Gone, a file, or a symbolic link to a directory (never followed): no listing, from either. */
  @Test
  void neitherListsWhatIsNotADirectory() throws Exception {
    Path target = Files.createDirectories(tmp.resolve("target"));
    Files.writeString(target.resolve("x"), "x");
    Path link = Files.createSymbolicLink(tmp.resolve("link"), target);
    Path file = Files.writeString(tmp.resolve("file"), "f");
    Path gone = tmp.resolve("gone");
    for (Listing listing : List.of(nativeListing(), JavaListing.INSTANCE)) {
      for (Path p : List.of(link, file, gone)) {
        assertThat(listing.list(Inotify.pathBytes(p.toString()), p.toString())).as("%s of %s", listing, p).isNull();
      }
    }
  }

  @Test
  void theSwitchChoosesTheJavaListingAndSaysWhy() {
    Listing.Chosen off = Listing.choose(Optional.of("SNAPSTASH_NATIVE=off"));
    assertThat(off.listing()).isSameAs(JavaListing.INSTANCE);
    assertThat(off.choice().describe()).isEqualTo("java.nio (SNAPSTASH_NATIVE=off)");
    Listing.Chosen auto = Listing.choose(Optional.empty());
    Tools.requireThat(auto.choice().nativePath(), "the C library's listing did not load: " + auto.choice().why());
    assertThat(auto.listing()).isInstanceOf(NativeListing.class);
    assertThat(auto.choice().describe()).startsWith("native (");
  }

  private static Listing nativeListing() {
    try {
      return NativeListing.load();
    } catch (IOException e) {
      Tools.requireThat(false, "the C library's listing did not load: " + e.getMessage());
      throw new AssertionError(e);
    }
  }

  private static List<Listing.Entry> sorted(List<Listing.Entry> entries) {
    return entries.stream().sorted(Comparator.comparing(Listing.Entry::name, Arrays::compareUnsigned)).toList();
  }

  private static boolean utf8() {
    return java.nio.charset.Charset.forName(System.getProperty("sun.jnu.encoding")).equals(StandardCharsets.UTF_8);
  }
}
