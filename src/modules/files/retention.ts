import type { FastifyBaseLogger } from 'fastify'
import type { AuditService } from '../../audit/audit.service.ts'
import type { Storage, Workspace } from '../../storage/storage.ts'
import type { FilesRepository } from './files.repository.ts'
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
  log: Pick<FastifyBaseLogger, 'info'>
}

/**
 * FILE_RETENTION_HOURS made real: expired files and their bytes (except those a queued or
 * running job still needs), finished jobs with their artifacts, staged leftovers of crashed
 * or aborted uploads, and abandoned resumable uploads. Each deleted file is audited.
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
      const report = { expiredFiles, staleStaged: stale.length + incomplete, expiredResumable, expiredJobs, expiredTranslationLogs }
      if (expiredFiles + report.staleStaged + expiredResumable + expiredJobs + expiredTranslationLogs > 0) deps.log.info(report, 'retention sweep')
      return report
    }
  }
}

export type RetentionSweeper = ReturnType<typeof retentionSweeper>
