import { randomUUID } from 'node:crypto'
import type { Readable } from 'node:stream'
import type { Config } from '../../config/config.ts'
import type { Job, JobArtifact, JobErrorCode, JobEvent, JobStatus } from '../../db/schema.ts'
import { decodeCursor, encodeCursor } from '../../http/cursor.ts'
import { page, withLookahead } from '../../db/keyset.ts'
import { notFound, tooManyRequests, unprocessable } from '../../http/problem.ts'
import type { Storage } from '../../storage/storage.ts'
import { mayAccessOwned, type OwnedAccess } from '../../access/ownership.ts'
import type { Principal } from '../../access/permissions.ts'
import { VoiceError, planSpeech, type Voice } from '../../engines/speak/index.ts'
import type { EnginesService } from '../engines/engines.service.ts'
import type { FilesRepository } from '../files/files.repository.ts'
import type { JobSignals } from './jobs.events.ts'
import type { JobQueue } from './jobs.queue.ts'
import { checkTranslate, type TranslateCheckDeps } from './jobs.checks.ts'
import { JOB_TYPES, JOB_TYPE_NAMES, isJobType, jobTimeoutSec, parseParams, type JobParams, type JobType } from './jobs.types.ts'
import { EVENTS_PAGE, type JobsRepository } from './jobs.repository.ts'
import { opened } from '../../storage/opened.ts'

export interface PublicJob {
  id: string
  type: string
  status: JobStatus
  progress: number
  stage: string
  fileId: string | null
  params: Record<string, unknown>
  result: unknown
  artifacts: { name: string, contentType: string, size: number }[]
  error: string | null
  errorCode: JobErrorCode | null
  attempts: number
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
}

export function toPublicJob (job: Job, artifacts: JobArtifact[]): PublicJob {
  return {
    id: job.id,
    type: job.type,
    status: job.status,
    progress: Math.round(job.progress * 1000) / 1000,
    stage: job.stage,
    fileId: job.file_id,
    params: job.params,
    result: job.result ?? null,
    artifacts: artifacts.filter((a) => a.job_id === job.id).map((a) => ({ name: a.name, contentType: a.content_type, size: Number(a.size) })),
    error: job.error,
    errorCode: job.error_code,
    attempts: job.attempts,
    createdAt: job.created_at.toISOString(),
    startedAt: job.started_at?.toISOString() ?? null,
    finishedAt: job.finished_at?.toISOString() ?? null
  }
}

export interface JobsServiceDeps {
  config: Config
  jobs: JobsRepository
  files: FilesRepository
  storage: Storage
  queue: JobQueue
  signals: JobSignals
  engines: EnginesService
  /** The installed translation pairs, for a translate job's create-time check. */
  translationPairs: TranslateCheckDeps['pairs']
}

export interface CreateJob {
  type: string
  /** Required by types whose input is a file, refused by the others. */
  fileId?: string | undefined
  params?: Record<string, unknown>
}

export const isFinished = (status: JobStatus) => status !== 'queued' && status !== 'running'

export interface QueueOverview {
  types: Array<{ type: string, counts: Record<JobStatus, number>, oldestQueuedAt: string | null }>
}

export function jobsService (deps: JobsServiceDeps) {
  const { config, jobs, storage, queue, signals } = deps

  /**
   * Waits for job `id` to change: its signal, a slow poll (a lost notification) or the abort.
   * A signal that comes while the caller is busy reading is kept for its next wait.
   */
  function changesOf (id: string, abort?: AbortSignal) {
    let pending = false
    let wake: (() => void) | undefined
    const changed = () => { if (wake) wake(); else pending = true }
    const unsubscribe = signals.changed.subscribe((jobId) => { if (jobId === undefined || jobId === id) changed() })
    abort?.addEventListener('abort', changed)
    return {
      next: (deadline: number) => new Promise<void>((resolve) => {
        if (pending || abort?.aborted) { pending = false; resolve(); return }
        const timer = setTimeout(() => { wake?.() }, Math.min(1000, Math.max(0, deadline - Date.now())))
        wake = () => { clearTimeout(timer); wake = undefined; resolve() }
      }),
      close () {
        unsubscribe()
        abort?.removeEventListener('abort', changed)
      }
    }
  }

  async function mustFind (principal: Principal, id: string, access: OwnedAccess = 'read'): Promise<Job> {
    const job = await jobs.findById(id)
    if (!job || !mayAccessOwned(principal, job.owner_id, access)) throw notFound('Job')
    return job
  }

  /** Deletes a job with its artifacts' bytes; a running one is stopped first (sweeper, erasure, DELETE). */
  async function remove (id: string): Promise<void> {
    await signals.cancel.publish(id)
    const objects = await jobs.delete(id)
    for (const object of objects ?? []) await storage.delete(object)
    await queue.forget(id).catch(() => {})
    await signals.changed.publish(id)
  }

  /**
   * Checks what can be checked before queueing, so a hopeless job is a 422 now, not a failure
   * later; answers the params the job runs with (a translation's codes made canonical).
   */
  async function checkEngine (type: JobType, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (type === 'speak') { await checkSpeech(params as JobParams['speak']); return params }
    if (type === 'translate') {
      const { source, target } = await checkTranslate(params as JobParams['translate'], config.jobs.transcribeEngine, {
        pairs: deps.translationPairs,
        recogniser: (name) => deps.engines.status(name),
        voices: async () => {
          const speech = await deps.engines.status('speak')
          return speech?.available && speech.voiceDetails ? speech.voiceDetails as Voice[] : undefined
        }
      })
      return { ...params, source_lang: source, target_lang: target }
    }
    if (type !== 'transcribe') return params
    const engine = (params.engine as string | undefined) ?? config.jobs.transcribeEngine
    const status = await deps.engines.status(engine)
    // A missing engine is not refused here: the job fails at once and names the package.
    if (!status?.available || !status.languages) return params
    const language = params.language as string | undefined
    if (language && !status.languages.includes(language)) {
      throw unprocessable(`params.language "${language}" is not installed for ${engine}; installed: ${status.languages.join(', ')}`, { field: 'params.language', installed: status.languages })
    }
    return params
  }

  /** An unknown voice, a language nobody speaks or text the voice cannot say: a 422 now. */
  async function checkSpeech (params: JobParams['speak']): Promise<void> {
    const status = await deps.engines.status('speak')
    // A missing engine is not refused here: the job fails at once and names the package.
    if (!status?.available || !status.voiceDetails) return
    try {
      planSpeech(status.voiceDetails as Voice[], params)
    } catch (error) {
      if (!(error instanceof VoiceError)) throw error
      throw unprocessable(`params.${error.field}: ${error.message}`, { field: `params.${error.field}` })
    }
  }

  return {
    async create (principal: Principal, request: CreateJob): Promise<PublicJob> {
      if (!isJobType(request.type)) throw unprocessable(`type must be one of: ${JOB_TYPE_NAMES.join(', ')}`, { field: 'type' })
      const type = request.type
      const takesFile = JOB_TYPES[type].input === 'file'
      if (takesFile && request.fileId === undefined) throw unprocessable(`fileId is required: a ${type} job works on an uploaded file`, { field: 'fileId' })
      if (!takesFile && request.fileId !== undefined) throw unprocessable(`fileId is not taken by a ${type} job: it makes its output from params alone`, { field: 'fileId' })
      const parsed = parseParams(type, request.params ?? {}) as Record<string, unknown>
      const file = request.fileId === undefined ? undefined : await deps.files.findLive(request.fileId)
      // Starting work on a file changes it (admins may read others' files, not use them); a
      // file out of reach, or an expired one, is indistinguishable from a missing one.
      if (takesFile && (!file || !mayAccessOwned(principal, file.owner_id, 'change'))) throw notFound('File')
      const params = await checkEngine(type, parsed)
      const limit = config.jobs.maxUnfinished[principal.tier]
      const id = randomUUID()
      const created = await jobs.insertWithinLimit({ id, ownerId: principal.userId, type, fileId: file?.id ?? null, params }, limit)
      // Expired (or deleted) between the read above and the insert.
      if ('fileGone' in created) throw notFound('File')
      if ('unfinished' in created) {
        throw tooManyRequests(`You have ${created.unfinished} queued or running jobs, the limit of the ${principal.tier} tier: wait for some to finish`, 30)
      }
      try {
        await queue.send({ jobId: id }, { ownerId: principal.userId, tier: principal.tier, timeoutSec: jobTimeoutSec(type, file?.duration_sec ?? 0, params) })
      } catch (error) {
        // Not queued means not created: no record may wait for a delivery that never comes.
        await jobs.delete(id)
        throw error
      }
      await signals.changed.publish(id)
      return toPublicJob(created.job, [])
    },

    async get (principal: Principal, id: string): Promise<PublicJob> {
      const job = await mustFind(principal, id)
      return toPublicJob(job, await jobs.artifacts(job.id))
    },

    async list (principal: Principal, limit: number, filter: { status?: JobStatus, type?: string, fileId?: string }, cursor?: string): Promise<{ items: PublicJob[], nextCursor: string | null }> {
      const rows = await jobs.list(principal.userId, withLookahead(limit), filter, cursor ? decodeCursor(cursor) : undefined)
      const { items, nextCursor } = page(rows, limit, encodeCursor)
      const artifacts = await jobs.artifactsOf(items.map((j) => j.id))
      return { items: items.map((j) => toPublicJob(j, artifacts)), nextCursor }
    },

    /**
     * DELETE on an unfinished job cancels it (the engine process is stopped) and keeps the
     * record; on a finished one it deletes the record and its artifacts.
     */
    async cancelOrDelete (principal: Principal, id: string): Promise<{ canceled: PublicJob } | { deleted: true }> {
      const job = await mustFind(principal, id, 'change')
      if (!isFinished(job.status)) {
        const canceled = await jobs.finish(id, { status: 'canceled', expiresAt: new Date(Date.now() + config.intake.retentionHours * 3_600_000) })
        if (canceled) {
          await signals.cancel.publish(id)
          await queue.cancel(id).catch(() => {})
          await signals.changed.publish(id)
          return { canceled: toPublicJob((await jobs.findById(id))!, []) }
        }
      }
      await remove(id)
      return { deleted: true }
    },

    remove,

    async artifact (principal: Principal, id: string, name: string): Promise<{ artifact: JobArtifact, stream: Readable }> {
      const job = await mustFind(principal, id)
      const artifact = await jobs.artifact(job.id, name)
      if (!artifact) throw notFound('Artifact')
      // Opened first: a store that fails is answered with a problem, not a cut-off 200.
      return { artifact, stream: await opened(storage.read(artifact.object_id)) }
    },

    /** The job (access-checked) and its events after `afterId`, for Server-Sent Events. */
    async events (principal: Principal, id: string, afterId: number) {
      const job = await mustFind(principal, id)
      return { job, events: await jobs.events(job.id, afterId) }
    },

    async eventsAfter (id: string, afterId: number) {
      const job = await jobs.findById(id)
      return { job, events: job ? await jobs.events(id, afterId) : [] }
    },

    /**
     * Resolves with the job once it has finished, or undefined after `timeoutMs` (the
     * synchronous OpenAI-style endpoints). Woken by job signals, with a slow poll as a floor.
     */
    async waitFor (id: string, timeoutMs: number, abort?: AbortSignal): Promise<Job | undefined> {
      const deadline = Date.now() + timeoutMs
      const changes = changesOf(id, abort)
      try {
        while (Date.now() < deadline && !abort?.aborted) {
          const job = await jobs.findById(id)
          if (!job || isFinished(job.status)) return job
          await changes.next(deadline)
        }
        return undefined
      } finally {
        changes.close()
      }
    },

    /**
     * The job's events as they are written (status, progress, partial results), returning the
     * job once it has finished and every event before its end was yielded, or undefined when
     * it is deleted, after `timeoutMs`, or on abort. For a caller that streams one job's
     * result itself (OpenAI's streaming transcription); HTTP clients of the job API use
     * jobs.event-stream.
     */
    async * follow (id: string, timeoutMs: number, abort?: AbortSignal): AsyncGenerator<JobEvent, Job | undefined> {
      const deadline = Date.now() + timeoutMs
      const changes = changesOf(id, abort)
      let cursor = 0
      try {
        while (Date.now() < deadline && !abort?.aborted) {
          // The job is read before its events: once it is seen finished, its last events are in.
          const job = await jobs.findById(id)
          if (!job) return undefined
          const events = await jobs.events(id, cursor)
          for (const event of events) {
            yield event
            cursor = event.id
          }
          if (events.length === EVENTS_PAGE) continue
          if (isFinished(job.status)) return job
          await changes.next(deadline)
        }
        return undefined
      } finally {
        changes.close()
      }
    },

    artifactsOf: (job: Job) => jobs.artifacts(job.id),

    /** For administrators: how many jobs of each type wait, run, and ended how, across all owners. */
    async overview (): Promise<QueueOverview> {
      const rows = await jobs.countsByTypeAndStatus()
      const byType = new Map<string, QueueOverview['types'][number]>()
      for (const row of rows) {
        const entry = byType.get(row.type) ?? { type: row.type, counts: { queued: 0, running: 0, succeeded: 0, failed: 0, canceled: 0 }, oldestQueuedAt: null }
        entry.counts[row.status] = row.count
        if (row.status === 'queued') entry.oldestQueuedAt = row.oldest.toISOString()
        byType.set(row.type, entry)
      }
      return { types: [...byType.values()] }
    },

    /** GDPR participant: the user's jobs with their results, listed and erased with the account. */
    personalData: {
      section: 'jobs',
      async export (userId: string) {
        const all = await jobs.listAllForOwner(userId)
        const artifacts = await jobs.artifactsOf(all.map((j) => j.id))
        return all.map((j) => toPublicJob(j, artifacts))
      },
      async erase (userId: string) {
        for (const job of await jobs.listAllForOwner(userId)) await remove(job.id)
      }
    }
  }
}

export type JobsService = ReturnType<typeof jobsService>
