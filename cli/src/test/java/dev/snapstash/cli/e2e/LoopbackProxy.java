package dev.snapstash.cli.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A minimal forwarding HTTP proxy on loopback, started by a test: CONNECT tunnels (how https goes through a proxy)
 * and absolute-form requests (plain http; each connection is forwarded whole to the first request's host, which is
 * enough for one client talking to one sandbox). Records the first line of every request, so a test can show that
 * traffic really went through it. Loopback targets only.
 */
final class LoopbackProxy implements AutoCloseable {
  private final ServerSocket server;
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private final Thread acceptor;

  LoopbackProxy() throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    acceptor = new Thread(this::accept, "loopback-proxy");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  String url() {
    return "http://127.0.0.1:" + server.getLocalPort();
  }

  /** The request lines seen: {@code CONNECT 127.0.0.1:443 HTTP/1.1}, {@code GET http://… HTTP/1.1}. */
  List<String> requests() {
    return List.copyOf(requests);
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        Thread t = new Thread(() -> serve(client), "loopback-proxy-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket client) {
    try (client) {
      InputStream in = client.getInputStream();
      String head = readHead(in);
      String first = head.substring(0, head.indexOf("\r\n"));
      requests.add(first);
      String[] parts = first.split(" ");
      String target = parts[1];
      boolean connect = parts[0].equals("CONNECT");
      String hostPort = connect ? target : java.net.URI.create(target).getAuthority();
      String host = hostPort.substring(0, hostPort.lastIndexOf(':'));
      int port = Integer.parseInt(hostPort.substring(hostPort.lastIndexOf(':') + 1));
      if (!InetAddress.getByName(host).isLoopbackAddress()) {
        client.getOutputStream().write("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        return;
      }
      try (Socket upstream = new Socket(host, port)) {
        if (connect) {
          client.getOutputStream().write("HTTP/1.1 200 Connection established\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        } else {
          upstream.getOutputStream().write(head.getBytes(StandardCharsets.ISO_8859_1));
        }
        Thread back = new Thread(() -> pipe(upstream, client), "loopback-proxy-back");
        back.setDaemon(true);
        back.start();
        pipe(client, upstream);
        back.join(10_000);
      }
    } catch (IOException | RuntimeException e) {
      // the client or the server went away: the proxy drops the connection, as a real one does
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static String readHead(InputStream in) throws IOException {
    StringBuilder sb = new StringBuilder();
    int c;
    while ((c = in.read()) != -1) {
      sb.append((char) c);
      if (sb.length() >= 4 && sb.substring(sb.length() - 4).equals("\r\n\r\n")) {
        return sb.toString();
      }
    }
    throw new IOException("connection closed before a request head");
  }

  private static void pipe(Socket from, Socket to) {
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      byte[] buf = new byte[16384];
      int n;
      while ((n = in.read(buf)) != -1) {
        out.write(buf, 0, n);
        out.flush();
      }
      to.shutdownOutput();
    } catch (IOException e) {
      // one side closed
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
