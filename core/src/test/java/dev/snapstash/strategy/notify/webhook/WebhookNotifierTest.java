package dev.snapstash.strategy.notify.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.snapstash.core.spi.RunReport;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class WebhookNotifierTest {

  /**
   * A webhook endpoint that answers the headers and then never finishes the body must not hold the run: the
   * notifier's 10 s timeout has to bound the whole exchange, not only the wait for the status line.
   */
  @Test
  void aWebhookThatNeverFinishesItsBodyDoesNotHangTheRun() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Thread t = new Thread(() -> {
        try (Socket s = server.accept()) {
          InputStream in = s.getInputStream();
          byte[] buf = new byte[8192];
          in.read(buf); // the request
          OutputStream out = s.getOutputStream();
          out.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nok"
              .getBytes(StandardCharsets.US_ASCII));
          out.flush();
          Thread.sleep(120_000); // the rest of the body never comes
        } catch (Exception e) {
          // test over
        }
      });
      t.setDaemon(true);
      t.start();
      WebhookNotifier n = new WebhookNotifier(WebhookNotifier.Shape.WEBHOOK,
          URI.create("http://127.0.0.1:" + server.getLocalPort() + "/hook"), null, true, true, false);
      RunReport report = new RunReport("backup", "prod", "prod-20240101-000000", true, Instant.now(),
          Duration.ofSeconds(5), Duration.ofSeconds(1), 1024, null);
      // 10 s configured timeout, generous margin; given up quietly (a notification never fails the run).
      long sent = System.nanoTime();
      assertTimeoutPreemptively(Duration.ofSeconds(30), () -> n.send(report),
          "send() still blocked 30 s after a 10 s timeout: the body read is not bounded");
      assertThat(Duration.ofNanos(System.nanoTime() - sent)).as("waited for the whole 10 s limit").isGreaterThanOrEqualTo(Duration.ofSeconds(10));
    }
  }
}
