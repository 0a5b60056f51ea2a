package dev.snapstash.strategy.notify.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.snapstash.core.config.ConfigLoader;
import dev.snapstash.core.config.SnapstashConfig;
import dev.snapstash.core.process.ProcessRunner;
import dev.snapstash.core.spi.Notifier;
import dev.snapstash.core.spi.Provider;
import dev.snapstash.core.spi.Providers;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.StrategyKind;
import dev.snapstash.strategy.notify.NotifierContract;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract of {@code notify[].type: webhook} against a real HTTP server on loopback, configured as a run reads
 * its configuration (a token by reference, a limit of 2 s) and built by its provider.
 */
public class WebhookNotifierContractTest extends NotifierContract {
  private static final String TOKEN = "hook-token-5f1c2a";
  @TempDir Path tmp;
  private HttpServer server;
  private final List<String> bodies = new CopyOnWriteArrayList<>();
  private final List<String> authorizations = new CopyOnWriteArrayList<>();
  private final CountDownLatch over = new CountDownLatch(1);

  @BeforeEach
  void start() throws Exception {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "receiver");
      t.setDaemon(true);
      return t;
    }));
    server.createContext("/hook", x -> {
      bodies.add(new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
      authorizations.add(String.valueOf(x.getRequestHeaders().getFirst("Authorization")));
      x.sendResponseHeaders(200, -1);
      x.close();
    });
    server.createContext("/broken", x -> {
      x.getRequestBody().readAllBytes();
      x.sendResponseHeaders(500, -1);
      x.close();
    });
    server.createContext("/hangs", x -> {
      try {
        over.await(2, TimeUnit.MINUTES); // never answers while the test runs
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      x.close();
    });
    server.start();
  }

  @AfterEach
  void stop() {
    over.countDown();
    server.stop(0);
  }

  private Notifier at(String url) throws Exception {
    SnapstashConfig c = ConfigLoader.parse(
        "instance: {name: bb, home: " + tmp.resolve("home") + "}\n"
            + "backup: {root: " + tmp.resolve("backups") + "}\n"
            + "quiesce: {type: none}\n"
            + "notify:\n"
            + "  - {type: " + type() + ", url: '" + url + "', token: '${env:HOOK_TOKEN}', timeout: 2s}\n",
        "contract.yml", Map.of("HOOK_TOKEN", TOKEN));
    @SuppressWarnings({"unchecked", "rawtypes"})
    Provider<Record, Notifier> p = (Provider) Providers.require(StrategyKind.NOTIFY, c.notifications().get(0).type(), "notify[0].type");
    return p.create(c.notifications().get(0).settings(), Services.of(c.instance(), c.backup(), new ProcessRunner()));
  }

  /** The provider's name: the webhook's HipChat-shaped twin runs the suite through a subclass. */
  protected String type() {
    return "webhook";
  }

  private String base() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @Override
  protected String secret() {
    return TOKEN;
  }

  @Override
  protected Notifier notifier() throws Exception {
    return at(base() + "/hook");
  }

  @Override
  protected Notifier failing(Failure failure) throws Exception {
    return switch (failure) {
      case SERVER_ERROR -> at(base() + "/broken");
      case HANGS -> at(base() + "/hangs");
      case REFUSED -> {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
          port = s.getLocalPort();
        }
        yield at("http://127.0.0.1:" + port + "/hook");
      }
    };
  }

  @Override
  protected List<String> received() {
    return List.copyOf(bodies);
  }

  @Override
  protected Duration limit() {
    return Duration.ofSeconds(2);
  }

  /** The token goes where the endpoint expects it, and only there. */
  @Test
  void theTokenIsSentAsTheBearerHeader() throws Exception {
    notifier().send(success());
    assertThat(authorizations).containsExactly("Bearer " + TOKEN);
  }
}
