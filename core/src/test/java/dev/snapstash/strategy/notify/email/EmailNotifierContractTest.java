package dev.snapstash.strategy.notify.email;

import dev.snapstash.core.spi.Notifier;
import dev.snapstash.strategy.notify.NotifierContract;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract of {@code notify[].type: email} against GreenMail on loopback: implicit TLS with a certificate the
 * notifier checks, a login whose password is a reference, a limit of 2 s; the failing receivers are a relay that
 * refuses every message, a closed port and a server that never answers.
 */
class EmailNotifierContractTest extends NotifierContract {
  @TempDir Path tmp;
  private MailServers servers;

  @BeforeEach
  void start() throws Exception {
    servers = new MailServers(tmp);
  }

  @AfterEach
  void stop() throws Exception {
    servers.close();
  }

  @Override
  protected String secret() {
    return MailServers.PASSWORD;
  }

  @Override
  protected Notifier notifier() {
    return servers.notifier(servers.tlsEntry(servers.smtpsPort(), "2s"));
  }

  @Override
  protected Notifier failing(Failure failure) throws Exception {
    int port = switch (failure) {
      case SERVER_ERROR -> servers.refusing("554 5.7.1 relay access denied");
      case REFUSED -> MailServers.closedPort();
      case HANGS -> servers.silent();
    };
    return servers.notifier(servers.tlsEntry(port, "2s"));
  }

  @Override
  protected List<String> received() throws Exception {
    return servers.received();
  }

  @Override
  protected Duration limit() {
    return Duration.ofSeconds(2);
  }

  @Override
  protected String serverErrorStatus() {
    return "554 5.7.1 relay access denied";
  }
}
