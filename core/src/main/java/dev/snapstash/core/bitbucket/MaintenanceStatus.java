package dev.snapstash.core.bitbucket;

/**
 * One answer of {@code GET /mvc/maintenance}.
 *
 * @param taskState the backup task's state ("RUNNING", "CANCELED", "FAILED", …), or null when there is no task
 * @param dbState "AVAILABLE", "DRAINING" or "DRAINED"
 * @param scmState "AVAILABLE", "DRAINING" or "DRAINED"
 */
public record MaintenanceStatus(String taskState, String dbState, String scmState) {
  public boolean drained() {
    return "DRAINED".equals(dbState) && "DRAINED".equals(scmState);
  }

  public boolean taskRunning() {
    return "RUNNING".equals(taskState);
  }
}
