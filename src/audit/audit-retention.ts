import type { AuditRepository } from './audit.repository.ts'
import type { AuditService } from './audit.service.ts'

const DAY_MS = 86_400_000
// Rows per DELETE: each statement stays short on a table of millions, and the sweep yields the
// database to requests between them.
const BATCH = 1000

export interface AuditRetentionDeps {
  repository: Pick<AuditRepository, 'deleteOlderThan'>
  audit: Pick<AuditService, 'record'>
  /** AUDIT_RETENTION_DAYS; 0 keeps every row. */
  retentionDays: number
  batch?: number
}

/** The retention sweep's share for the audit log: rows older than AUDIT_RETENTION_DAYS. */
export function auditRetention (deps: AuditRetentionDeps) {
  const batch = deps.batch ?? BATCH
  return {
    async sweep (now: Date): Promise<number> {
      if (deps.retentionDays === 0) return 0
      const cutoff = new Date(now.getTime() - deps.retentionDays * DAY_MS)
      let deleted = 0
      for (;;) {
        const count = await deps.repository.deleteOlderThan(cutoff, batch)
        deleted += count
        if (count < batch) break
      }
      // After the delete, and newer than the cut-off: the record of the sweep is never its own
      // victim. Only a sweep that deleted something is recorded, or every interval would add a row.
      if (deleted > 0) {
        await deps.audit.record({ action: 'audit.retention_swept', status: 200, detail: { deleted, before: cutoff.toISOString(), retentionDays: deps.retentionDays } })
      }
      return deleted
    }
  }
}
