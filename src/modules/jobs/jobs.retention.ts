import type { AuditService } from '../../audit/audit.service.ts'
import type { Storage, Workspace } from '../../storage/storage.ts'
import type { FilesRepository } from '../files/files.repository.ts'
import { JOB_WORK } from './jobs.runner.ts'
import type { JobsRepository } from './jobs.repository.ts'
import type { JobsService } from './jobs.service.ts'

// An attempt directory is written to all the time its job runs: one untouched for an hour
// belongs to a worker that died mid-job (kill -9 skips its clean-up).
const STALE_WORK_MS = 3_600_000
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const BATCH = 100

export interface JobsRetentionDeps {
  /** DELETE_AFTER_PROCESSING: a job's input file goes once no other unfinished job needs it. */
  deleteAfterProcessing: boolean
  jobs: Pick<JobsRepository, 'findById' | 'expired' | 'fileInUse'>
  files: Pick<FilesRepository, 'findById' | 'delete'>
  storage: Pick<Storage, 'delete'>
  workspace: Pick<Workspace, 'stale' | 'remove'>
  /** Deletes a job with its artifacts, stopping it first (jobs.service `remove`). */
  service: Pick<JobsService, 'remove'>
  audit: Pick<AuditService, 'record'>
}

/** What a job leaves behind, and when it goes: its input file, its attempt directories, the job itself. */
export function jobsRetention (deps: JobsRetentionDeps) {
  const { jobs, files, storage, workspace, audit } = deps

  async function removeOrphanedWork (): Promise<void> {
    // A job still running keeps its directory whatever its age.
    for (const entry of await workspace.stale(JOB_WORK, STALE_WORK_MS)) {
      const jobId = entry.name.slice(0, 36)
      const job = UUID.test(jobId) ? await jobs.findById(jobId) : undefined
      if (job?.status !== 'running') await workspace.remove(entry.path)
    }
  }

  async function removeExpired (now: Date): Promise<number> {
    let removed = 0
    for (;;) {
      const batch = await jobs.expired(now, BATCH)
      for (const job of batch) {
        await deps.service.remove(job.id)
        await audit.record({ action: 'job.expired', status: 200, detail: { jobId: job.id, ownerId: job.owner_id } })
      }
      removed += batch.length
      if (batch.length < BATCH) return removed
    }
  }

  return {
    /** Called by the runner when job `jobId` is done with `fileId`, whatever its outcome. */
    async fileProcessed (fileId: string, jobId: string): Promise<void> {
      if (!deps.deleteAfterProcessing || await jobs.fileInUse(fileId, jobId)) return
      const file = await files.findById(fileId)
      if (!file || !await files.delete(fileId)) return
      await storage.delete(fileId)
      await audit.record({ action: 'file.deleted_after_processing', status: 200, detail: { fileId, ownerId: file.owner_id } })
    },

    /** The retention sweep's part for jobs: orphaned attempt directories, then expired jobs; returns how many jobs went. */
    async sweep (now: Date): Promise<number> {
      await removeOrphanedWork()
      return removeExpired(now)
    }
  }
}

export type JobsRetention = ReturnType<typeof jobsRetention>
