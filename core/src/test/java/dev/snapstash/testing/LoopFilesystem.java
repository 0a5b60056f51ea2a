package dev.snapstash.testing;

import dev.snapstash.core.process.Command;
import dev.snapstash.core.process.ProcessRunner;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * A real filesystem of a chosen type and size on a loop device, mounted in a temporary directory: a small one to
 * fill up, or a btrfs to snapshot. Needs root and loop devices; without them the test is skipped with the reason,
 * or fails when {@code snapstash.requireAll=true} (CI). Always unmounted and detached on {@link #close()}.
 */
public final class LoopFilesystem implements AutoCloseable {
  private final ProcessRunner runner = new ProcessRunner();
  private final Path image;
  private final Path mountPoint;
  private boolean mounted;

  private LoopFilesystem(Path image, Path mountPoint) {
    this.image = image;
    this.mountPoint = mountPoint;
  }

  /** Creates and mounts a {@code type} ("ext4", "btrfs") filesystem of {@code megabytes} under {@code dir}. */
  public static LoopFilesystem create(Path dir, String type, int megabytes) throws IOException {
    requireRoot();
    requireKernelSupport(type);
    Path image = dir.resolve(type + ".img");
    Path mount = dir.resolve(type + "-mnt");
    Files.createDirectories(mount);
    try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
      f.setLength((long) megabytes * 1024 * 1024);
    }
    LoopFilesystem fs = new LoopFilesystem(image, mount);
    ProcessRunner r = fs.runner;
    if (type.equals("btrfs")) {
      r.run(Command.of("mkfs.btrfs", "-q", image.toString()).discardingStdout());
    } else {
      r.run(Command.of("mkfs." + type, "-q", image.toString()).discardingStdout());
    }
    r.run(Command.of("mount", "-o", "loop", image.toString(), mount.toString()));
    fs.mounted = true;
    return fs;
  }

  /** A kernel without the filesystem (a container's host kernel, say) cannot mount it: skip, and say so. */
  private static void requireKernelSupport(String type) throws IOException {
    Path known = Path.of("/proc/filesystems");
    if (!Files.isReadable(known)) {
      return;
    }
    boolean supported = Files.readAllLines(known).stream().anyMatch(l -> l.strip().endsWith(type));
    if (!supported) {
      // Not listed may still mean "module not loaded yet": mounting loads it when it can.
      try {
        new ProcessRunner().runAllowingFailure(Command.of("modprobe", type), l -> {});
      } catch (RuntimeException noModprobe) {
        // kmod is not installed: the listing below decides
      }
      supported = Files.readAllLines(known).stream().anyMatch(l -> l.strip().endsWith(type));
    }
    if (!supported) {
      skipOrFail("the kernel has no " + type + " support (not in /proc/filesystems, modprobe " + type + " failed)");
    }
  }

  private static void skipOrFail(String why) {
    if (Boolean.getBoolean("snapstash.requireAll")) {
      throw new AssertionError(why + ", and snapstash.requireAll=true forbids skipping");
    }
    Assumptions.abort(why);
  }

  private static void requireRoot() {
    boolean root = "root".equals(System.getProperty("user.name"));
    boolean loop = Files.exists(Path.of("/dev/loop-control"));
    String why = !root ? "loop-device filesystems need root" : !loop ? "no /dev/loop-control (no loop devices)" : null;
    if (why != null) {
      skipOrFail(why);
    }
  }

  public Path mountPoint() {
    return mountPoint;
  }

  @Override
  public void close() {
    if (mounted) {
      runner.runAllowingFailure(Command.of("umount", "-l", mountPoint.toString()), l -> {});
      mounted = false;
    }
    try {
      Files.deleteIfExists(image);
    } catch (IOException e) {
      // a temporary directory; JUnit removes it anyway
    }
  }
}
