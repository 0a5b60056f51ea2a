package dev.snapstash.core.spi;

/**
 * One node of the application a backup covers, as the application reports it (a Data Center cluster's nodes), for
 * {@code check} and the manifest.
 *
 * @param id the node's id
 * @param name its name, or null
 * @param address host name or address, or null
 * @param port cluster port, or null
 * @param version the application version the node runs, or null
 * @param local whether this node answered the question
 */
public record ApplicationNode(String id, String name, String address, Integer port, String version, boolean local) {}
