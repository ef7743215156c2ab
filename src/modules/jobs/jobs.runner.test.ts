import assert from 'node:assert/strict'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { describe, it, mock } from 'node:test'
import { EngineError, type EngineContext } from '../../engines/engine.ts'
import type { JobOutcome } from '../../observability/metrics.ts'
import { eventually, fakeFilesRepository, fakeJobsRepository, fakeQueue, fakeSignals, fileRow, memoryLog, principal } from '../../testing/fakes.ts'
import { fakeStorage } from '../../testing/fake-storage.ts'
import type { JobHandler } from './jobs.handlers.ts'
import type { Delivery } from './jobs.queue.ts'
import { jobRunner } from './jobs.runner.ts'
import { JOB_TYPES } from './jobs.types.ts'

type Handler = (context: EngineContext) => ReturnType<JobHandler>

function setup (handler: Handler, options: { maxRunning?: number } = {}) {
  const files = fakeFilesRepository()
  const jobs = fakeJobsRepository({ files })
  const storage = fakeStorage()
  const queue = fakeQueue()
  const signals = fakeSignals()
  const log = memoryLog()
  const attempts: JobOutcome[] = []
  const processed: { fileId: string, jobId: string, statusThen: string | undefined }[] = []
  const seen: { inputPath?: string, workDir?: string } = {}
  const run: JobHandler = (input, _params, context) => {
    seen.inputPath = input?.path
    seen.workDir = context.workDir
    return handler(context)
  }
  const runner = jobRunner({
    jobs,
    files,
    storage,
    workspace: storage.workspace,
    queue,
    signals,
    handlers: { analyze: run, transcribe: run, separate: run, generate: run, speak: run, translate: run },
    parallelism: 1,
    retentionMs: 3_600_000,
    async fileProcessed (fileId, jobId) { processed.push({ fileId, jobId, statusThen: jobs.rows.get(jobId)?.status }) },
    maxRunning: { free: options.maxRunning ?? 1, premium: 4, enterprise: 16 },
    metrics: { jobAttempt: (_type, outcome) => { attempts.push(outcome) } },
    log
  })
  const owner = principal()
  const file = fileRow(owner.userId)
  files.rows.set(file.id, file)
  storage.objects.set(file.id, Buffer.from('audio'))
  const job = jobs.seed({ owner_id: owner.userId, file_id: file.id })
  const delivery = (overrides: Partial<Delivery> = {}): Delivery => ({ jobId: job.id, retryCount: 0, lastAttempt: false, signal: new AbortController().signal, ...overrides })
  return { runner, jobs, files, storage, queue, signals, log, attempts, processed, seen, job, file, owner, delivery }
}

const writesOneArtifact: Handler = async (context) => {
  const file = path.join(context.workDir, 'out.txt')
  await fsp.writeFile(file, 'x')
  return { result: {}, artifacts: [{ name: 'out.txt', path: file, contentType: 'text/plain' }] }
}

const connectionRefused = (message = 'connect ECONNREFUSED 127.0.0.1:5432') => Object.assign(new Error(message), message.startsWith('connect') ? { code: 'ECONNREFUSED' } : {})

/** A handler that waits until its signal aborts, then fails the way an engine does. */
const untilAborted: Handler = (context) => new Promise((_resolve, reject) => {
  context.signal.addEventListener('abort', () => { reject(new EngineError('canceled', 'stopped')) }, { once: true })
})

describe('job runner: a successful attempt', () => {
  it('runs the handler on the stored file, stores its artifacts and only then marks the job succeeded', async () => {
    const t = setup(async (context) => {
      context.progress(0.5, 'halfway')
      const file = path.join(context.workDir, 'out.txt')
      await fsp.writeFile(file, 'transcript')
      return { result: { words: 1 }, artifacts: [{ name: 'transcript.txt', path: file, contentType: 'text/plain' }] }
    })
    await t.runner.run(t.delivery())
    const job = t.jobs.rows.get(t.job.id)!
    assert.equal(job.status, 'succeeded')
    assert.equal(job.progress, 1)
    assert.equal(job.attempts, 1)
    assert.deepEqual(job.result, { words: 1 })
    const [artifact] = await t.jobs.artifacts(t.job.id)
    assert.equal(artifact?.name, 'transcript.txt')
    assert.equal(artifact?.size, 10)
    assert.equal(t.storage.objects.get(artifact!.object_id)?.toString(), 'transcript')
    assert.ok(t.jobs.eventRows.some((e) => e.kind === 'progress' && e.data.stage === 'halfway'))
    assert.deepEqual(t.attempts, ['succeeded'])
    // The fake store is remote-like (no local path): the input is materialised into the attempt's directory.
    assert.equal(path.dirname(t.seen.inputPath!), t.seen.workDir)
    assert.equal(fs.existsSync(t.seen.workDir!), false, 'the attempt\'s work directory is removed')
    // DELETE_AFTER_PROCESSING goes before the job is seen to end.
    assert.deepEqual(t.processed, [{ fileId: t.file.id, jobId: t.job.id, statusThen: 'running' }])
  })

  it('records every partial result as an event, in order and before the job ends, and drops an oversized one', async () => {
    const t = setup(async (context) => {
      for (let i = 0; i < 5; i++) context.partial?.({ segment: { id: i, text: `part ${i}` } })
      context.partial?.({ segment: { id: 5, text: 'x'.repeat(70_000) } })
      return { result: {}, artifacts: [] }
    })
    await t.runner.run(t.delivery())
    const kinds = t.jobs.eventRows.filter((e) => e.job_id === t.job.id).map((e) => e.kind === 'partial' ? `partial ${String((e.data.segment as { id: number }).id)}` : `${e.kind} ${String(e.data.status ?? '')}`.trim())
    assert.deepEqual(kinds.filter((k) => !k.startsWith('progress')), ['status running', 'partial 0', 'partial 1', 'partial 2', 'partial 3', 'partial 4', 'status succeeded'])
  })

  it('keeps no artifacts of a job canceled in the last instant', async () => {
    const t = setup(async (context) => {
      const file = path.join(context.workDir, 'out.txt')
      await fsp.writeFile(file, 'x')
      await t.jobs.finish(t.job.id, { status: 'canceled', expiresAt: new Date() })
      return { result: {}, artifacts: [{ name: 'out.txt', path: file, contentType: 'text/plain' }] }
    })
    await t.runner.run(t.delivery())
    assert.equal(t.jobs.rows.get(t.job.id)?.status, 'canceled')
    assert.deepEqual([...t.storage.objects.keys()], [t.file.id])
    assert.deepEqual(t.attempts, ['stopped'])
  })

  it('tries the end again while the database is unreachable, and keeps the artifacts once it lands', async () => {
    const t = setup(writesOneArtifact)
    const finish = t.jobs.finish.bind(t.jobs)
    let refused = 0
    t.jobs.finish = async (id, end) => {
      if (end.status === 'succeeded' && refused < 2) { refused++; throw connectionRefused() }
      return finish(id, end)
    }
    await t.runner.run(t.delivery())
    assert.equal(refused, 2)
    assert.equal(t.jobs.rows.get(t.job.id)?.status, 'succeeded')
    const [artifact] = await t.jobs.artifacts(t.job.id)
    assert.equal(t.storage.objects.get(artifact!.object_id)?.toString(), 'x')
    assert.deepEqual(t.attempts, ['succeeded'])
  })

  it('keeps the artifacts when the end was committed but its answer lost, and the retry finds the job ended', async () => {
    const t = setup(writesOneArtifact)
    const finish = t.jobs.finish.bind(t.jobs)
    let lost = false
    t.jobs.finish = async (id, end) => {
      const ended = await finish(id, end)
      if (!lost) { lost = true; throw connectionRefused('Connection terminated unexpectedly') }
      return ended
    }
    await t.runner.run(t.delivery())
    assert.equal(t.jobs.rows.get(t.job.id)?.status, 'succeeded')
    const [artifact] = await t.jobs.artifacts(t.job.id)
    assert.ok(t.storage.objects.has(artifact!.object_id), 'the committed artifact was deleted')
    assert.deepEqual(t.attempts, ['succeeded'])
  })

  it('does not retry an end that failed for another reason than the connection', async () => {
    const t = setup(writesOneArtifact)
    let calls = 0
    t.jobs.finish = async () => { calls++; throw new Error('violates check constraint') }
    await assert.rejects(t.runner.run(t.delivery()), /check constraint/)
    assert.equal(calls, 1, 'tried once; the attempt goes back to the queue')
  })

  it('does nothing for a job canceled while it was queued', async () => {
    let ran = false
    const t = setup(async () => { ran = true; return { result: {}, artifacts: [] } })
    await t.jobs.finish(t.job.id, { status: 'canceled', expiresAt: new Date() })
    await t.runner.run(t.delivery())
    assert.equal(ran, false)
    assert.equal(t.jobs.rows.get(t.job.id)?.status, 'canceled')
  })
})

describe('job runner: failures', () => {
  for (const [kind, code] of [['invalid-input', 'invalid_input'], ['missing-engine', 'missing_engine']] as const) {
    it(`fails a ${kind} error at once with ${code}, without a retry`, async () => {
      const t = setup(async () => { throw new EngineError(kind, 'Install the pocketsphinx package.') })
      await t.runner.run(t.delivery())
      const job = t.jobs.rows.get(t.job.id)!
      assert.equal(job.status, 'failed')
      assert.equal(job.error_code, code)
      assert.equal(job.error, 'Install the pocketsphinx package.')
      assert.deepEqual(t.attempts, ['failed'])
    })
  }

  it('fails with invalid_input when the input file was deleted before the job ran', async () => {
    const t = setup(async () => ({ result: {}, artifacts: [] }))
    t.files.rows.delete(t.file.id)
    await t.runner.run(t.delivery())
    assert.equal(t.jobs.rows.get(t.job.id)?.error_code, 'invalid_input')
    assert.equal(t.jobs.rows.get(t.job.id)?.error, 'The input file was deleted before the job ran.')
  })

  it('hands a transient failure back to the queue for a retry, the job queued again with the reason', async () => {
    const t = setup(async () => { throw new EngineError('transient', 'The recogniser crashed.') })
    await assert.rejects(t.runner.run(t.delivery()), /The recogniser crashed/)
    const job = t.jobs.rows.get(t.job.id)!
    assert.equal(job.status, 'queued')
    assert.equal(job.stage, 'retrying: The recogniser crashed.')
    assert.deepEqual(t.attempts, ['retried'])
  })

  it('fails a transient failure on the last attempt with engine_failed, naming the attempts', async () => {
    const t = setup(async () => { throw new EngineError('transient', 'The recogniser crashed.') })
    await t.runner.run(t.delivery({ retryCount: 2, lastAttempt: true }))
    const job = t.jobs.rows.get(t.job.id)!
    assert.equal(job.status, 'failed')
    assert.equal(job.error_code, 'engine_failed')
    assert.equal(job.error, 'The recogniser crashed. (after 1 attempts)')
  })

  it('retries an engine timeout, and fails it on the last attempt with the timeout code', async () => {
    const t = setup(async () => { throw new EngineError('timeout', 'The engine outran its budget.') })
    await assert.rejects(t.runner.run(t.delivery()))
    assert.equal(t.jobs.rows.get(t.job.id)?.status, 'queued')
    await t.runner.run(t.delivery({ lastAttempt: true }))
    assert.equal(t.jobs.rows.get(t.job.id)?.error_code, 'timeout')
  })

  it('stops an attempt that outruns its type\'s time budget: retried, then failed with timeout', async (context) => {
    // The budget comes from the type registry; a 50 ms one keeps the test fast.
    context.after(() => { mock.restoreAll() })
    mock.method(JOB_TYPES.analyze, 'timeoutSec', () => 0.05)
    const t = setup(untilAborted)
    await assert.rejects(t.runner.run(t.delivery()))
    assert.equal(t.jobs.rows.get(t.job.id)?.stage, 'retrying: The job did not finish within its 0.05 s budget.')
    await t.runner.run(t.delivery({ lastAttempt: true }))
    const job = t.jobs.rows.get(t.job.id)!
    assert.equal(job.status, 'failed')
    assert.equal(job.error_code, 'timeout')
    assert.deepEqual(t.attempts, ['retried', 'failed'])
  })

  it('shows the owner no internals of an unexpected error, and logs it', async () => {
    const t = setup(async () => { throw new Error('ENOSPC: /var/lib/tympan/secret/path') })
    await t.runner.run(t.delivery({ lastAttempt: true }))
    const job = t.jobs.rows.get(t.job.id)!
    assert.equal(job.error_code, 'engine_failed')
    assert.equal(job.error, 'The job failed unexpectedly. (after 1 attempts)')
    assert.ok(t.log.entries.some((e) => e.level === 'error' && e.message === 'job failed unexpectedly'))
  })

  it('refuses an artifact with an unsafe name and keeps none of the attempt\'s artifacts', async () => {
    const t = setup(async (context) => {
      const good = path.join(context.workDir, 'a.txt')
      const bad = path.join(context.workDir, 'b')
      await fsp.writeFile(good, 'a')
      await fsp.writeFile(bad, 'b')
      return { result: {}, artifacts: [{ name: 'a.txt', path: good, contentType: 'text/plain' }, { name: '../b', path: bad, contentType: 'text/plain' }] }
    })
    await t.runner.run(t.delivery({ lastAttempt: true }))
    assert.equal(t.jobs.rows.get(t.job.id)?.status, 'failed')
    assert.deepEqual([...t.storage.objects.keys()], [t.file.id])
  })

  it('records worker_lost for a job whose retries ran out without a handler recording it', async () => {
    const t = setup(async () => ({ result: {}, artifacts: [] }))
    await t.runner.start(1)
    await t.jobs.start(t.job.id, { free: 1, premium: 1, enterprise: 1 })
    await t.queue.workers.deadLetters!(t.job.id)
    assert.equal(t.jobs.rows.get(t.job.id)?.error_code, 'worker_lost')
    assert.equal(t.jobs.rows.get(t.job.id)?.status, 'failed')
  })
})

describe('job runner: stopping', () => {
  it('stops the engine on a cancel signal and leaves the job as the API canceled it', async () => {
    let started = false
    const t = setup((context) => { started = true; return untilAborted(context) })
    const running = t.runner.run(t.delivery())
    await eventually(() => started)
    await t.jobs.finish(t.job.id, { status: 'canceled', expiresAt: new Date() })
    await t.signals.cancel.publish(t.job.id)
    await running
    assert.equal(t.jobs.rows.get(t.job.id)?.status, 'canceled')
    assert.deepEqual(t.attempts, ['stopped'])
  })

  it('stops the engine when a progress write finds the job no longer running', async () => {
    const t = setup(async (context) => {
      await t.jobs.finish(t.job.id, { status: 'canceled', expiresAt: new Date() })
      context.progress(0.1, 'decoding')
      return untilAborted(context)
    })
    await t.runner.run(t.delivery())
    assert.equal(t.jobs.rows.get(t.job.id)?.status, 'canceled')
    assert.deepEqual(t.attempts, ['stopped'])
  })

  it('lets a lost claim go without settling the job: pg-boss retries it elsewhere', async () => {
    const claim = new AbortController()
    const t = setup((context) => { setImmediate(() => { claim.abort() }); return untilAborted(context) })
    await t.runner.run(t.delivery({ signal: claim.signal }))
    assert.equal(t.jobs.rows.get(t.job.id)?.status, 'running')
    assert.deepEqual(t.attempts, ['stopped'])
  })

  it('waits for one of the owner\'s running slots before it starts the job', async () => {
    const t = setup(async () => ({ result: {}, artifacts: [] }))
    const other = t.jobs.seed({ owner_id: t.owner.userId, status: 'running' })
    const running = t.runner.run(t.delivery())
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(t.jobs.rows.get(t.job.id)?.status, 'queued')
    await t.jobs.finish(other.id, { status: 'succeeded', expiresAt: new Date() })
    await running
    assert.equal(t.jobs.rows.get(t.job.id)?.status, 'succeeded')
  })

  it('hands the job back when the worker stops while it waits for a slot', async () => {
    const t = setup(async () => ({ result: {}, artifacts: [] }))
    t.jobs.seed({ owner_id: t.owner.userId, status: 'running' })
    const stop = new AbortController()
    setTimeout(() => { stop.abort() }, 50)
    await assert.rejects(t.runner.run(t.delivery({ signal: stop.signal })), /the worker stopped before the job could start/)
    assert.equal(t.jobs.rows.get(t.job.id)?.status, 'queued')
  })
})
