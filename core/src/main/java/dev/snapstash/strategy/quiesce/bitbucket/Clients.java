package dev.snapstash.strategy.quiesce.bitbucket;

import dev.snapstash.core.bitbucket.BitbucketClient;
import dev.snapstash.core.config.Secret;
import dev.snapstash.core.error.SnapstashException;
import dev.snapstash.core.spi.Services;
import java.net.URI;

/**
 * The Bitbucket client of one instance, built once per composition from the instance section: one client per base
 * URL, so that a login refused once (which Bitbucket counts towards its CAPTCHA) is never sent again by anything
 * else of the same run or recover.
 */
final class Clients {
  private Clients() {}

  static BitbucketClient of(Services services, URI baseUrl, String why) {
    return services.shared(Clients.class.getName() + " " + baseUrl, k -> {
      var i = services.instance();
      var b = services.backup();
      return new BitbucketClient(new BitbucketClient.Settings(
          baseUrl, credentials(i, why), services.transport().get(), b.requestTimeout(), b.rateLimitWait(),
          services.sleeper(), services.clock()));
    });
  }

  private static BitbucketClient.Credentials credentials(dev.snapstash.core.config.SnapstashConfig.Instance i, String why) {
    if (i.token() != null) {
      return new BitbucketClient.Credentials.Bearer(() -> revealed("instance.token", i.token()));
    }
    if (i.username() == null || i.password() == null) {
      throw SnapstashException.config("instance.username and instance.password are required " + why);
    }
    return new BitbucketClient.Credentials.Basic(i.username(), () -> revealed("instance.password", i.password()));
  }

  /** A secret's value, or a configuration error that names its key (the reference alone does not say which). */
  private static String revealed(String key, Secret secret) {
    try {
      return secret.reveal();
    } catch (SnapstashException e) {
      throw new SnapstashException(e.kind(), key + ": " + e.getMessage(), e);
    }
  }
}
