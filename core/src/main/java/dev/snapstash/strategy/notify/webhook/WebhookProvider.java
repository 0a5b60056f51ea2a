package dev.snapstash.strategy.notify.webhook;

import dev.snapstash.core.spi.Notifier;
import dev.snapstash.core.spi.Provider;
import dev.snapstash.core.spi.Services;
import dev.snapstash.core.spi.StrategyKind;

/** {@code notify[].type: webhook}, and its HipChat-shaped twin {@code hipchat}: one notifier, two bodies. */
public class WebhookProvider implements Provider<WebhookSettings, Notifier> {
  private final WebhookNotifier.Shape shape;

  public WebhookProvider() {
    this(WebhookNotifier.Shape.WEBHOOK);
  }

  WebhookProvider(WebhookNotifier.Shape shape) {
    this.shape = shape;
  }

  @Override
  public StrategyKind kind() {
    return StrategyKind.NOTIFY;
  }

  @Override
  public String name() {
    return shape.name().toLowerCase(java.util.Locale.ROOT);
  }

  @Override
  public String summary() {
    return shape == WebhookNotifier.Shape.WEBHOOK
        ? "a Slack/Mattermost/Teams-compatible JSON POST"
        : "a HipChat v2 room notification";
  }

  @Override
  public Class<WebhookSettings> settingsType() {
    return WebhookSettings.class;
  }

  @Override
  public Notifier create(WebhookSettings s, Services services) {
    return new WebhookNotifier(shape, s.url(), s.token(), s.onSuccess(), s.onFailure(), s.notifyRoom(), s.timeout());
  }

  /** {@code notify[].type: hipchat}. */
  public static final class Hipchat extends WebhookProvider {
    public Hipchat() {
      super(WebhookNotifier.Shape.HIPCHAT);
    }
  }
}
