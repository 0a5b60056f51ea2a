package dev.snapstash.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine;

/**
 * The version from the jar's manifest (set by the build), or "development" when run from classes; the commit the
 * build recorded in {@code build.properties} beside this class, or "unknown" for a build without its git checkout.
 */
public final class Version implements CommandLine.IVersionProvider {
  static final String BUILD_PROPERTIES = "build.properties";

  public static String get() {
    String v = Version.class.getPackage().getImplementationVersion();
    return v == null ? "development" : v;
  }

  /** The commit the build was made from, abbreviated, or "unknown". */
  public static String commit() {
    try (InputStream in = Version.class.getResourceAsStream(BUILD_PROPERTIES)) {
      if (in == null) {
        return "unknown";
      }
      Properties p = new Properties();
      p.load(in);
      String c = p.getProperty("commit", "").strip();
      return c.isEmpty() ? "unknown" : c;
    } catch (IOException e) {
      return "unknown";
    }
  }

  @Override
  public String[] getVersion() {
    return new String[] {
      "snapstash " + get() + " (commit " + commit() + ")",
      "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ", "
          + System.getProperty("java.vm.name") + ")"
    };
  }
}
