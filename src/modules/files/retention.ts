import type { FastifyBaseLogger } from 'fastify'
import type { AuditService } from '../../audit/audit.service.ts'
import type { Storage, Workspace } from '../../storage/storage.ts'
import type { FilesRepository } from './files.repository.ts'
import type { OrphanCollector } from './orphan-objects.ts'
import { STAGING } from './staging.ts'

// A staged file or object write untouched this long belongs to no live upload: uploads write
// continuously.
const STALE_STAGED_MS = 3_600_000
const BATCH = 100

export interface SweepReport {
  expiredFiles: number
  staleStaged: number
  expiredResumable: number
  expiredJobs: number
  expiredTranslationLogs: number
  /** Audit rows older than AUDIT_RETENTION_DAYS. */
  expiredAuditRows: number
  /** Objects older than ORPHAN_OBJECT_GRACE_MINUTES that no row named. */
  orphanObjects: number
}

/** Another service's share of the sweep: deletes what of its own has expired by `now`, returns how many. */
export interface Sweeps {
  sweep: (now: Date) => Promise<number>
}

export interface RetentionDeps {
  files: Pick<FilesRepository, 'expired' | 'deleteExpired'>
  storage: Pick<Storage, 'delete' | 'sweepIncomplete'>
  workspace: Pick<Workspace, 'stale' | 'remove'>
  audit: Pick<AuditService, 'record'>
  /** Incomplete resumable uploads gone idle or past their expiry (resumable.service). */
  resumable: Sweeps
  /** Finished jobs past their retention with their artifacts, and orphaned attempt directories (jobs.retention). */
  jobs: Sweeps
  /** Translation log rows past their retention, and kept texts past FILE_RETENTION_HOURS (translate.service). */
  translationLogs: Sweeps
  /** Audit rows past AUDIT_RETENTION_DAYS (audit/audit-retention.ts); it records its own sweep. */
  auditLog: Sweeps
  /** Objects no row names, left by a write whose row never came (orphan-objects.ts). */
  orphans: Pick<OrphanCollector, 'collect'>
  log: Pick<FastifyBaseLogger, 'info'>
}

/**
 * FILE_RETENTION_HOURS made real: expired files and their bytes (except those a queued or
 * running job still needs), finished jobs with their artifacts, staged leftovers of crashed
 * or aborted uploads, abandoned resumable uploads, old audit rows (AUDIT_RETENTION_DAYS), and
 * objects no row names. Each deleted file
 * and object is audited.
 */
export function retentionSweeper (deps: RetentionDeps) {
  return {
    async sweep (now = new Date()): Promise<SweepReport> {
      let expiredFiles = 0
      for (;;) {
        const batch = await deps.files.expired(now, BATCH)
        for (const listed of batch) {
          // Row first: once it is gone nobody can start reading bytes that are about to vanish.
          // A job created on the file since it was listed keeps it (and its bytes) alive.
          const file = await deps.files.deleteExpired(listed.id, now)
          if (!file) continue
          await deps.storage.delete(file.id)
          await deps.audit.record({ action: 'file.expired', status: 200, detail: { fileId: file.id, ownerId: file.owner_id, expiresAt: file.expires_at.toISOString() } })
          expiredFiles++
        }
        if (batch.length < BATCH) break
      }
      const stale = await deps.workspace.stale(STAGING, STALE_STAGED_MS)
      for (const file of stale) await deps.workspace.remove(file.path)
      const incomplete = await deps.storage.sweepIncomplete(STALE_STAGED_MS)
      const expiredResumable = await deps.resumable.sweep(now)
      const expiredJobs = await deps.jobs.sweep(now)
      const expiredTranslationLogs = await deps.translationLogs.sweep(now)
      // After the steps that audit what they delete: their rows are new, never this step's.
      const expiredAuditRows = await deps.auditLog.sweep(now)
      // Last: the rows the steps above deleted have already taken their objects with them.
      const orphanObjects = await deps.orphans.collect()
      const report = { expiredFiles, staleStaged: stale.length + incomplete, expiredResumable, expiredJobs, expiredTranslationLogs, expiredAuditRows, orphanObjects }
      if (expiredFiles + report.staleStaged + expiredResumable + expiredJobs + expiredTranslationLogs + expiredAuditRows + orphanObjects > 0) deps.log.info(report, 'retention sweep')
      return report
    }
  }
}

export type RetentionSweeper = ReturnType<typeof retentionSweeper>
