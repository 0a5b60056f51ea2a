package dev.snapstash.core.spi;

import dev.snapstash.core.config.Secret;

/**
 * A database and the login to it: what a restored home's {@code bitbucket.properties} must name ({@code jdbc.url},
 * {@code jdbc.user}, {@code jdbc.password}) for Bitbucket to use the database the restore wrote.
 *
 * @param password read only when written into the properties file; never logged
 */
public record JdbcLogin(DatabaseAddress address, String user, Secret password) {
  @Override
  public String toString() {
    return "JdbcLogin[" + address + ", user " + user + "]";
  }
}
