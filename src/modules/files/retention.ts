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
}

export interface RetentionDeps {
  files: FilesRepository
  storage: Storage
  workspace: Workspace
  audit: AuditService
  /** Deletes incomplete resumable uploads gone idle or past their expiry; returns how many. */
  cleanUpResumable: (now: Date) => Promise<number>
  /** Deletes finished jobs past their retention with their artifacts; returns how many. */
  cleanUpJobs: (now: Date) => Promise<number>
  log: FastifyBaseLogger
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
      const expiredResumable = await deps.cleanUpResumable(now)
      const expiredJobs = await deps.cleanUpJobs(now)
      const report = { expiredFiles, staleStaged: stale.length + incomplete, expiredResumable, expiredJobs }
      if (expiredFiles + report.staleStaged + expiredResumable + expiredJobs > 0) deps.log.info(report, 'retention sweep')
      return report
    }
  }
}

export type RetentionSweeper = ReturnType<typeof retentionSweeper>
