package dev.snapstash.sandbox.http;

import dev.snapstash.sandbox.SandboxKnobs;
import dev.snapstash.sandbox.db.SandboxDatabase;
import java.util.Optional;
import org.eclipse.jetty.http.HttpHeader;

/**
 * Who may call a resource, asked the same way by every area: each refusal is answered here, in Bitbucket's words,
 * so an area only returns when the answer is empty.
 */
final class Access {
  private final Auth auth;
  private final SandboxKnobs knobs;
  private final String baseUrl;

  Access(Auth auth, SandboxKnobs knobs, String baseUrl) {
    this.auth = auth;
    this.knobs = knobs;
    this.baseUrl = baseUrl;
  }

  /** Any authenticated user, by password or access token; otherwise answered 401. */
  Optional<SandboxDatabase.User> user(Exchange x) {
    return principal(x).map(Auth.Principal::user);
  }

  /**
   * SYSADMIN resources: a user without the permission, or any access token (Bitbucket never grants a token
   * SYSADMIN), is refused with the permission-denied status (401 by default, as the OAS documents).
   */
  Optional<SandboxDatabase.User> sysadmin(Exchange x) {
    Optional<Auth.Principal> p = principal(x);
    if (p.isPresent() && (!p.get().user().sysadmin() || p.get().viaToken())) {
      x.error(knobs.permissionDeniedStatus(),
          "You are not permitted to access this resource: it requires the SYS_ADMIN permission.",
          "com.atlassian.bitbucket.AuthorisationException");
      return Optional.empty();
    }
    return p.map(Auth.Principal::user);
  }

  private Optional<Auth.Principal> principal(Exchange x) {
    Auth.Outcome o = auth.authenticate(x.request().getHeaders().get(HttpHeader.AUTHORIZATION),
        knobs.captchaAfterFailures());
    if (o.refusal() == Auth.Refusal.CAPTCHA) {
      x.response().getHeaders().put("X-Authentication-Denied-Reason",
          "CAPTCHA_CHALLENGE; login-url=" + baseUrl + "/login");
      x.error(401, "CAPTCHA required: log in through the web interface first.",
          "com.atlassian.bitbucket.auth.CaptchaRequiredAuthenticationException");
    } else if (o.refusal() != null) {
      x.response().getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Basic realm=\"Atlassian Bitbucket\"");
      x.error(401, "Authentication failed. Please check your credentials and try again.",
          "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException");
    }
    return o.ok();
  }

  int failedLogins(String user) {
    return auth.failedLogins(user);
  }

  void clearCaptcha(String user) {
    auth.clearFailures(user);
  }
}
