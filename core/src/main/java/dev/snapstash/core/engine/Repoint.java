package dev.snapstash.core.engine;

import dev.snapstash.core.spi.DatabaseAddress;
import dev.snapstash.core.spi.JdbcLogin;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Points a restored home at the database the restore wrote. A home restored into a new place keeps the backed-up
 * {@code shared/bitbucket.properties}, whose {@code jdbc.url} names the source database: a Bitbucket started on that
 * copy would connect to production. When the restore wrote another database than the one the file names, the JDBC
 * settings are rewritten before anything can start on the copy.
 */
public final class Repoint {
  private static final Logger log = LoggerFactory.getLogger(Repoint.class);

  static final String URL = "jdbc.url";
  static final String USER = "jdbc.user";
  static final String PASSWORD = "jdbc.password";
  static final String DECRYPTER = "jdbc.password.decrypter.classname";
  /**
   * Bitbucket's "basic encryption" of {@code jdbc.password}: Base64, which snapstash can write itself
   * (https://confluence.atlassian.com/bitbucketserver084/basic-encryption-1167708767.html). Any other decrypter
   * (AlgorithmCipher, a custom one) needs key files snapstash does not have.
   */
  static final String BASE64_CIPHER = "com.atlassian.db.config.password.ciphers.base64.Base64Cipher";

  private Repoint() {}

  /** One key changed; a password's values are never shown. */
  public record Change(String key, String from, String to) {}

  /**
   * What happened to the restored home's JDBC settings.
   *
   * @param rewritten the settings now name the restored database
   * @param kept they still name another database, because the operator asked to keep them ({@code --keep-properties})
   * @param changes what was (or, when kept, would have been) changed
   * @param warning what the operator must do by hand, or null
   */
  public record Result(boolean rewritten, boolean kept, List<Change> changes, String warning) {}

  /**
   * Rewrites {@code jdbc.url} (host, port and database; its parameters kept), {@code jdbc.user} and {@code
   * jdbc.password} of the home at {@code home} to name {@code login}, unless they name that database already.
   * Empty when there is nothing to compare: no properties file, or no {@code jdbc.url} (an embedded database).
   */
  static Optional<Result> apply(Path home, JdbcLogin login, boolean keep) {
    String url = BitbucketProperties.get(home, URL);
    if (url == null || url.isBlank()) {
      return Optional.empty();
    }
    Optional<DatabaseAddress> named = DatabaseAddress.parse(url);
    if (named.isPresent() && named.get().sameDatabaseAs(login.address())) {
      log.debug("{} names {} already; left as it is", BitbucketProperties.RELATIVE_PATH, login.address());
      return Optional.empty();
    }
    String newUrl = login.address().rewrite(url);
    List<Change> changes = new ArrayList<>();
    changes.add(new Change(URL, url, newUrl));
    String user = BitbucketProperties.get(home, USER);
    if (!login.user().equals(user)) {
      changes.add(new Change(USER, user, login.user()));
    }
    changes.add(new Change(PASSWORD, "(hidden)", "(the password of the restored database, not shown)"));
    if (keep) {
      String warning =
          BitbucketProperties.RELATIVE_PATH + " of the restored home still names " + named.map(Object::toString).orElse(url)
              + ", not the restored database " + login.address() + " (--keep-properties): a Bitbucket started on this copy"
              + " connects there";
      return Optional.of(new Result(false, true, changes, warning));
    }
    String decrypter = BitbucketProperties.get(home, DECRYPTER);
    String password = login.password().reveal();
    Map<String, String> values = new LinkedHashMap<>();
    values.put(URL, newUrl);
    values.put(USER, login.user());
    String warning = null;
    Set<String> remove = Set.of();
    if (decrypter == null || decrypter.isBlank()) {
      values.put(PASSWORD, password);
    } else if (decrypter.equals(BASE64_CIPHER)) {
      values.put(PASSWORD, Base64.getEncoder().encodeToString(password.getBytes(StandardCharsets.UTF_8)));
    } else {
      // The source's encrypted password needs its key files, and is the source's password anyway.
      values.put(PASSWORD, password);
      remove = Set.of(DECRYPTER);
      changes.add(new Change(DECRYPTER, decrypter, "(commented out)"));
      warning =
          "the restored database's password is now in " + BitbucketProperties.RELATIVE_PATH + " in plain text ("
              + decrypter + " needs key files snapstash does not have); encrypt it again with Bitbucket's"
              + " tools/atlassian-password if you need to";
    }
    BitbucketProperties.update(
        home, values, remove, "repointed by snapstash restore at the database it restored, " + login.address());
    return Optional.of(new Result(true, false, changes, warning));
  }
}
