import type { FastifyBaseLogger } from 'fastify'
import { setTimeout as sleep } from 'node:timers/promises'
import type { JobArtifact, JobErrorCode, Tier } from '../../db/schema.ts'
import { isConnectionError } from '../../db/unavailable.ts'
import { EngineError, type ArtifactFile, type EngineContext } from '../../engines/engine.ts'
import type { JobOutcome, Metrics } from '../../observability/metrics.ts'
import type { Storage, Workspace } from '../../storage/storage.ts'
import type { FilesRepository } from '../files/files.repository.ts'
import type { JobHandlers } from './jobs.handlers.ts'
import type { JobSignals } from './jobs.events.ts'
import type { Delivery, JobQueue } from './jobs.queue.ts'
import { JOB_TYPES, isJobType, jobTimeoutSec, type JobType } from './jobs.types.ts'
import type { JobsRepository } from './jobs.repository.ts'

// A worker that finds the owner's running slots full waits this long for one, then runs the
// job anyway: a slot can look taken by a job whose worker died and whose retry needs this
// very worker, and waiting for it for ever would deadlock.
const SLOT_WAIT_MS = 60_000
const SLOT_POLL_MS = 250
// Progress is written (and sent to SSE clients) at most this often, and on every stage change.
const PROGRESS_INTERVAL_MS = 250
// A partial result is a piece (a segment with its word timings), never the whole: one larger
// than this is an engine fault, dropped from the stream, and the final result still has it.
const MAX_PARTIAL_CHARS = 64 * 1024
const UNLIMITED: Record<Tier, number> = { free: Infinity, premium: Infinity, enterprise: Infinity }
// The workspace area of attempt directories, `<job id>-<random>` (swept by the retention).
export const JOB_WORK = 'jobs'
const ARTIFACT_NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/
// A finish the database could not take (it restarts, a connection drops) is tried again for
// this long, backing off up to FINISH_RETRY_MAX_MS between tries: the engine's work is done,
// and waiting out a short outage costs less than rerunning the job after its heartbeat lapses.
const FINISH_RETRY_FOR_MS = 120_000
const FINISH_RETRY_MAX_MS = 5_000

export interface RunnerDeps {
  jobs: JobsRepository
  files: FilesRepository
  storage: Storage
  /** Attempt directories and the input as a local file: the engines take paths. */
  workspace: Workspace
  queue: JobQueue
  signals: JobSignals
  handlers: JobHandlers
  /** How many child processes one job's engine may run at once. */
  parallelism: number
  retentionMs: number
  /** Called as job `jobId` finishes for good with the file (DELETE_AFTER_PROCESSING). */
  fileProcessed: (fileId: string, jobId: string) => Promise<void>
  /** Running jobs per user, by tier: JOBS_MAX_RUNNING_*. */
  maxRunning: Record<Tier, number>
  metrics?: Pick<Metrics, 'jobAttempt'>
  log: FastifyBaseLogger
}

/** Why an attempt ended, decided from the error and from which signal fired. */
type Outcome =
  | { kind: 'fail', code: JobErrorCode, message: string }
  | { kind: 'retry', code: JobErrorCode, message: string }
  | { kind: 'stopped' }

function outcomeOf (error: unknown, stops: { canceled: boolean, timedOut: boolean, claimLost: boolean }, timeoutSec: number): Outcome {
  // A cancel or a lost claim is settled elsewhere (the API, or pg-boss's retry): say nothing.
  if (stops.canceled || stops.claimLost) return { kind: 'stopped' }
  if (stops.timedOut) return { kind: 'retry', code: 'timeout', message: `The job did not finish within its ${timeoutSec} s budget.` }
  if (error instanceof EngineError) {
    if (error.kind === 'invalid-input') return { kind: 'fail', code: 'invalid_input', message: error.message }
    if (error.kind === 'missing-engine') return { kind: 'fail', code: 'missing_engine', message: error.message }
    if (error.kind === 'canceled') return { kind: 'stopped' }
    return { kind: 'retry', code: error.kind === 'timeout' ? 'timeout' : 'engine_failed', message: error.message }
  }
  return { kind: 'retry', code: 'engine_failed', message: 'The job failed unexpectedly.' }
}

/**
 * The worker side of a job: claim the record, run the type's handler with progress and
 * cancellation, store artifacts under fresh ids (staged, fsynced, renamed) and only then mark
 * the job succeeded, so a retry never sees half a result. Invalid input and missing engines
 * fail at once; anything else is retried by pg-boss with backoff until the last attempt.
 */
export function jobRunner (deps: RunnerDeps) {
  const { jobs, storage, workspace, log } = deps
  const running = new Map<string, AbortController>()
  deps.signals.cancel.subscribe((jobId) => {
    if (jobId) running.get(jobId)?.abort(new EngineError('canceled', 'The job was canceled.'))
  })

  async function storeArtifacts (jobId: string, files: ArtifactFile[]): Promise<JobArtifact[]> {
    const stored: JobArtifact[] = []
    try {
      for (const file of files) {
        if (!ARTIFACT_NAME.test(file.name)) throw new Error(`engine produced an artifact with an invalid name: ${file.name}`)
        const size = await workspace.size(file.path)
        const objectId = crypto.randomUUID()
        await workspace.store(file.path, objectId)
        stored.push({ job_id: jobId, name: file.name, object_id: objectId, content_type: file.contentType, size })
      }
      return stored
    } catch (error) {
      await Promise.all(stored.map((a) => storage.delete(a.object_id)))
      throw error
    }
  }

  /** Claims the job, waiting a while when its owner's running slots are all taken. */
  async function claim (delivery: Delivery) {
    const deadline = Date.now() + SLOT_WAIT_MS
    for (;;) {
      const claimed = await jobs.start(delivery.jobId, Date.now() < deadline ? deps.maxRunning : UNLIMITED)
      if (claimed !== 'busy') return claimed
      await sleep(SLOT_POLL_MS, undefined, { signal: delivery.signal }).catch(() => {})
      // Throwing hands the job back to pg-boss for another worker; returning would settle it.
      if (delivery.signal.aborted) throw new Error('the worker stopped before the job could start')
    }
  }

  async function run (delivery: Delivery): Promise<void> {
    const job = await claim(delivery)
    // Canceled or deleted while queued: nothing to do, and returning settles the delivery.
    if (!job) return
    await deps.signals.changed.publish(job.id)
    const type = job.type
    if (!isJobType(type)) {
      await end(job.id, job.file_id, { status: 'failed', error: { code: 'invalid_input', message: `Unknown job type ${type}.` } })
      return
    }
    const file = job.file_id ? await deps.files.findById(job.file_id) : undefined
    const timeoutSec = jobTimeoutSec(type, file?.duration_sec ?? 0, job.params)
    const takesFile = JOB_TYPES[type].input === 'file'
    const local = new AbortController()
    const timeout = AbortSignal.timeout(timeoutSec * 1000)
    const signal = AbortSignal.any([local.signal, timeout, delivery.signal])
    running.set(job.id, local)
    const workDir = await workspace.tempDir(JOB_WORK, job.id)
    const progress = progressWriter(job.id, () => { local.abort() })
    const startedAt = performance.now()
    const count = (outcome: JobOutcome) => deps.metrics?.jobAttempt(type, outcome, (performance.now() - startedAt) / 1000)
    try {
      if (takesFile && (!file || file.owner_id !== job.owner_id)) throw new EngineError('invalid-input', 'The input file was deleted before the job ran.')
      const context: EngineContext = { progress: progress.report, partial: progress.partial, signal, workDir, parallelism: deps.parallelism }
      const input = takesFile && file ? { path: await workspace.materialise(file.id, workDir), durationSec: file.duration_sec } : undefined
      const output = await deps.handlers[type as JobType](input, job.params, context)
      await progress.flush()
      const artifacts = await storeArtifacts(job.id, output.artifacts)
      if (await end(job.id, job.file_id, { status: 'succeeded', result: output.result, artifacts })) {
        count('succeeded')
      } else {
        // Canceled in the last instant: the job keeps no artifacts.
        await Promise.all(artifacts.map((a) => storage.delete(a.object_id)))
        count('stopped')
      }
    } catch (error) {
      await progress.flush()
      const outcome = outcomeOf(error, { canceled: local.signal.aborted, timedOut: timeout.aborted, claimLost: delivery.signal.aborted && !local.signal.aborted }, timeoutSec)
      if (outcome.kind === 'stopped') { count('stopped'); return }
      if (!(error instanceof EngineError)) log.error({ err: error, jobId: job.id, type }, 'job failed unexpectedly')
      else log.warn({ jobId: job.id, type, kind: error.kind, err: error.cause ?? error }, 'job attempt failed')
      if (outcome.kind === 'fail' || delivery.lastAttempt) {
        const attempts = delivery.lastAttempt && outcome.kind === 'retry' ? ` (after ${job.attempts} attempts)` : ''
        await end(job.id, job.file_id, { status: 'failed', error: { code: outcome.code, message: outcome.message + attempts } })
        count('failed')
        return
      }
      count('retried')
      await jobs.requeue(job.id, `retrying: ${outcome.message}`)
      await deps.signals.changed.publish(job.id)
      throw error
    } finally {
      running.delete(job.id)
      await workspace.remove(workDir)
    }
  }

  async function end (jobId: string, fileId: string | null, fields: { status: 'succeeded' | 'failed', result?: unknown, error?: { code: JobErrorCode, message: string }, artifacts?: JobArtifact[] }): Promise<boolean> {
    // The upload goes before the job is seen to end, so a client that sees the end never
    // finds the file still there.
    if (fileId) await deps.fileProcessed(fileId, jobId).catch((error: unknown) => log.error({ err: error, fileId }, 'deleting a processed file failed'))
    const ended = await finishDurably(jobId, { ...fields, expiresAt: new Date(Date.now() + deps.retentionMs) })
    await deps.signals.changed.publish(jobId)
    return ended
  }

  async function finishDurably (jobId: string, fields: Parameters<JobsRepository['finish']>[1]): Promise<boolean> {
    const giveUpAt = Date.now() + FINISH_RETRY_FOR_MS
    let retried = false
    for (let delay = 250; ; delay = Math.min(delay * 2, FINISH_RETRY_MAX_MS)) {
      try {
        const ended = await jobs.finish(jobId, fields)
        // A retry that finds the job finished may follow a commit whose answer was lost: it is
        // ours when the job holds our artifacts (fresh ids, so nobody else's), and then the
        // caller must keep them, not delete them as if the job had been canceled meanwhile.
        if (ended || !retried || !fields.artifacts?.length) return ended
        const held = await jobs.artifacts(jobId)
        return held.some((artifact) => artifact.object_id === fields.artifacts![0]!.object_id)
      } catch (error) {
        if (!isConnectionError(error) || Date.now() + delay > giveUpAt) throw error
        log.warn({ err: error, jobId, retryInMs: delay }, 'the database did not take the job\'s end; trying again')
        retried = true
        await sleep(delay)
      }
    }
  }

  /**
   * Throttled, ordered progress writes, and partial results (never throttled: each is a piece
   * of the answer) on the same chain; `onGone` fires when the job stopped running here.
   */
  function progressWriter (jobId: string, onGone: () => void) {
    let lastWrite = 0
    let lastStage = ''
    let pending: { fraction: number, stage: string } | undefined
    let chain = Promise.resolve()
    const write = () => {
      const next = pending
      pending = undefined
      if (!next) return
      lastWrite = Date.now()
      chain = chain.then(async () => {
        if (!await jobs.progress(jobId, next.fraction, next.stage)) onGone()
        else await deps.signals.changed.publish(jobId)
      }).catch((error: unknown) => log.warn({ err: error, jobId }, 'progress update failed'))
    }
    let timer: NodeJS.Timeout | undefined
    return {
      report (fraction: number, stage: string) {
        pending = { fraction: Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0)), stage: stage.slice(0, 200) }
        if (stage !== lastStage || Date.now() - lastWrite >= PROGRESS_INTERVAL_MS) {
          lastStage = stage
          clearTimeout(timer)
          timer = undefined
          write()
        } else {
          timer ??= setTimeout(() => { timer = undefined; write() }, PROGRESS_INTERVAL_MS)
        }
      },
      partial (data: Record<string, unknown>) {
        const size = JSON.stringify(data).length
        if (size > MAX_PARTIAL_CHARS) { log.warn({ jobId, size }, 'partial result too large for the event log; dropped'); return }
        chain = chain.then(async () => {
          if (!await jobs.partial(jobId, data)) onGone()
          else await deps.signals.changed.publish(jobId)
        }).catch((error: unknown) => log.warn({ err: error, jobId }, 'partial result write failed'))
      },
      async flush () {
        clearTimeout(timer)
        timer = undefined
        pending = undefined
        await chain
      }
    }
  }

  return {
    run,
    /** Starts pulling jobs: `concurrency` at once in this process. */
    async start (concurrency: number): Promise<void> {
      await deps.queue.start()
      await deps.queue.work(concurrency, run)
      await deps.queue.workDeadLetters(async (jobId) => {
        const job = await jobs.findById(jobId)
        if (!job) return
        await end(job.id, job.file_id, { status: 'failed', error: { code: 'worker_lost', message: `The job was attempted ${job.attempts} times and its worker stopped responding each time.` } })
      })
    }
  }
}

export type JobRunner = ReturnType<typeof jobRunner>
