package dev.snapstash.core.stage;

import dev.snapstash.core.error.SnapstashException;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The hosts-file block that sends production's host names to an address no network routes (the staging KB, 3.4),
 * between markers so that writing it again replaces it rather than adding a second one.
 *
 * @param address where the names go (stage.hosts-address)
 * @param names production's names, sorted, without IP literals, {@code localhost}, or any name staging itself uses
 * @param kept names left out because staging needs them (its database, its own URL, the mail sink)
 */
public record HostsBlock(String address, List<String> names, List<String> kept) {
  public static final String BEGIN = "# BEGIN snapstash stage: production hosts, sent nowhere (do not edit)";
  public static final String END = "# END snapstash stage";
  private static final Pattern URL_HOST = Pattern.compile("(?i)\\b(?:https?|ssh|git|ldaps?)://(?:[^@/\\s\"']*@)?([A-Za-z0-9.-]+)");
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*");

  /** The block for {@code production} names, leaving out what {@code staging} uses. */
  public static HostsBlock of(String address, Collection<String> production, Collection<String> staging) {
    Set<String> own = new TreeSet<>();
    staging.stream().filter(h -> h != null).forEach(h -> own.add(h.toLowerCase(Locale.ROOT)));
    Set<String> names = new TreeSet<>();
    Set<String> kept = new TreeSet<>();
    for (String h : production) {
      if (h == null) {
        continue;
      }
      String n = h.toLowerCase(Locale.ROOT).replaceAll("\\.$", "");
      if (!NAME.matcher(n).matches() || n.matches("[0-9.]+") || n.equals("localhost") || n.endsWith(".localhost")) {
        continue;
      }
      if (own.contains(n)) {
        kept.add(n);
      } else {
        names.add(n);
      }
    }
    return new HostsBlock(address, List.copyOf(names), List.copyOf(kept));
  }

  /** The host of {@code url}, or null. */
  public static String host(URI url) {
    return url == null ? null : url.getHost();
  }

  /** Every host named in a URL inside {@code text} (application links, webhooks, mirrors), for {@link #of}. */
  public static List<String> hostsIn(String text) {
    List<String> out = new ArrayList<>();
    if (text != null) {
      Matcher m = URL_HOST.matcher(text);
      while (m.find()) {
        out.add(m.group(1));
      }
    }
    return out;
  }

  /** The block's lines, markers included; with no names, the markers alone (an earlier block is emptied). */
  public String text() {
    StringBuilder b = new StringBuilder(BEGIN).append('\n');
    for (String n : names) {
      b.append(address).append(' ').append(n).append('\n');
    }
    return b.append(END).append('\n').toString();
  }

  /** {@code hosts} with this block in place of an earlier one, or appended; the rest of the file kept as it was. */
  public String into(String hosts) {
    int begin = hosts.indexOf(BEGIN);
    int end = begin < 0 ? -1 : hosts.indexOf(END, begin);
    if (begin >= 0 && end >= 0) {
      int after = end + END.length();
      if (after < hosts.length() && hosts.charAt(after) == '\n') {
        after++;
      }
      return hosts.substring(0, begin) + text() + hosts.substring(after);
    }
    String base = hosts.isEmpty() || hosts.endsWith("\n") ? hosts : hosts + "\n";
    return base + text();
  }

  /** Writes the block into {@code file} in place (a container's /etc/hosts is a mount that cannot be renamed over). */
  public void apply(Path file) {
    try {
      String before = Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
      String after = into(before);
      if (!after.equals(before)) {
        Files.writeString(file, after, StandardCharsets.UTF_8);
      }
    } catch (IOException e) {
      throw SnapstashException.storage("cannot write the hosts block into " + file + " (stage.hosts-file): " + e.getMessage(), e);
    }
  }
}
