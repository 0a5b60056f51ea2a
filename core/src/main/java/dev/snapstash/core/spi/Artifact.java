package dev.snapstash.core.spi;

/**
 * A file a strategy wrote into the backup, recorded in the manifest so that {@code verify} and {@code restore} can
 * check it.
 *
 * @param path relative to the backup directory, with '/' separators
 * @param bytes size in bytes
 * @param sha256 lower-case hex digest of the content
 */
public record Artifact(String path, long bytes, String sha256) {}
