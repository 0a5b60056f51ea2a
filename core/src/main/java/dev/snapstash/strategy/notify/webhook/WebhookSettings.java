package dev.snapstash.strategy.notify.webhook;

import dev.snapstash.core.config.Key;
import dev.snapstash.core.config.Secret;
import java.net.URI;
import java.time.Duration;

/** The keys of a {@code webhook} or {@code hipchat} entry of {@code notify}. */
public record WebhookSettings(
    @Key(doc = "Where to POST the notification.", required = true) URI url,
    @Key(doc = "Bearer token sent as the Authorization header, if the endpoint needs one.", secret = true)
        Secret token,
    @Key(doc = "Send on success.", def = "true") boolean onSuccess,
    @Key(doc = "Send on failure.", def = "true") boolean onFailure,
    @Key(doc = "HipChat only: ask HipChat to notify the room's members.", def = "false") boolean notifyRoom,
    @Key(
            doc =
                "How long one notification may take in all: connecting, sending and the whole answer. A receiver"
                    + " that takes longer is given up on with a warning; the run's result stands.",
            def = "10s")
        Duration timeout) {}

