package dev.snapstash.strategy.archive.tar;

import dev.snapstash.core.config.Secret;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;

/**
 * The archive contract for {@code archive[].type: tar} encrypted to an age recipient. The key pair is a test's own
 * (made once with age-keygen), not a secret.
 */
public class EncryptedTarArchiveContractTest extends TarArchiveContractTest {
  static final String RECIPIENT = "age1ug2mvcyw63wagua4njadz4wzcwp4d892psqalr6cuqhfta42vulqpns235";
  static final String IDENTITY = "AGE-SECRET-KEY-1A2UTNUZXN5AS86EYS3MLPAZWCNX9VR0435XH8GYQUGJP5VSGKRRQ0426XK";

  @Override
  protected TarSettings settings() {
    return new TarSettings(
        destination, 3, 2, List.of(RECIPIENT),
        Secret.ofEnv("AGE_IDENTITY", Map.of("AGE_IDENTITY", "# created: 2026-12-07\n" + IDENTITY + "\n")));
  }
}
