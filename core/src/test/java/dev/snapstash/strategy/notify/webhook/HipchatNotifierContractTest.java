package dev.snapstash.strategy.notify.webhook;

/** {@code notify[].type: hipchat}: the same notifier with HipChat's body, through the same suite. */
class HipchatNotifierContractTest extends WebhookNotifierContractTest {
  @Override
  protected String type() {
    return "hipchat";
  }
}
