import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { startApp, type TestApp } from './helpers/app.ts'
import { backends, TEST_DATABASE_URL } from './helpers/db.ts'
import { createJob, uploadFile, waitForJob } from './helpers/jobs.ts'
import { librivoxMissing, librivoxRecording } from './helpers/librivox.ts'
import { wordErrorRate } from '../src/engines/transcribe/wer.ts'

const ROOT = path.resolve(import.meta.dirname, '..')
const postgres = (await backends()).find((b) => b.name === 'postgres')!

/**
 * Durability across processes: `tympan worker` processes on a shared PostgreSQL, one of them
 * killed with SIGKILL in the middle of a transcription. pg-boss notices the missing heartbeat
 * and hands the job to the other worker, which finishes it.
 */
describe('a worker killed mid-job (kill -9): another worker finishes the job', { skip: postgres.skip || librivoxMissing() }, () => {
  let t: TestApp
  let key: string
  const workers: ChildProcess[] = []
  const logs: string[] = []

  const startWorker = (name: string) => {
    const schema = t.testDb.schema!
    const url = new URL(TEST_DATABASE_URL)
    url.searchParams.set('options', `-c search_path=${schema}`)
    const child = spawn(process.execPath, [path.join(ROOT, 'src/main.ts'), 'worker'], {
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: url.toString(),
        JOB_QUEUE_SCHEMA: t.config.jobs.queueSchema,
        TYMPAN_DATA_DIR: t.config.dataDir,
        WORKER_CONCURRENCY: '1',
        JOB_HEARTBEAT_SECONDS: '10',
        LOG_LEVEL: 'info'
      },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    child.stdout!.on('data', (d: Buffer) => logs.push(`${name}: ${d.toString()}`))
    child.stderr!.on('data', (d: Buffer) => logs.push(`${name} (stderr): ${d.toString()}`))
    workers.push(child)
    return child
  }

  before(async () => {
    t = await startApp('postgres', { WORKER_CONCURRENCY: '0', JOB_HEARTBEAT_SECONDS: '10' })
    key = await t.apiKey(await t.login((await t.createUser()).email), ['files:read', 'files:write', 'jobs:read', 'jobs:write'])
  })
  after(async () => {
    for (const child of workers) child.kill('SIGKILL')
    await t.close()
  })

  it('retries the job on the surviving worker and finishes it', { timeout: 180_000 }, async (ctx) => {
    const recording = librivoxRecording(60)
    const fileId = await uploadFile(t.app, key, recording.file, 'reading.wav')
    const first = startWorker('worker-1')
    const job = await createJob(t.app, key, { type: 'transcribe', fileId })
    const running = await waitForJob(t.app, key, job.id, (j) => j.status === 'running' && j.progress > 0, 60_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${logs.join('')}`)
    })
    assert.equal(running.attempts, 1)
    first.kill('SIGKILL')
    const killedAt = Date.now()
    startWorker('worker-2')
    const done = await waitForJob(t.app, key, job.id, undefined, 150_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${logs.join('')}`)
    })
    assert.equal(done.status, 'succeeded', `${done.error}\n${logs.join('')}`)
    assert.equal(done.attempts, 2)
    const wer = wordErrorRate(recording.references.join(' '), (done.result as { text: string }).text).wer
    ctx.diagnostic(`finished ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill; WER ${(wer * 100).toFixed(1)}%`)
    assert.ok(wer < 0.5, `WER ${wer}`)
    assert.deepEqual(done.artifacts.map((a) => a.name).sort(), ['transcript.json', 'transcript.srt', 'transcript.txt', 'transcript.verbose.json', 'transcript.vtt'])
    // One attempt's artifacts only: the killed attempt left none behind.
    const rows = await t.testDb.db.kysely.selectFrom('job_artifacts').select('name').where('job_id', '=', job.id).execute()
    assert.equal(rows.length, 5)
  })
})
