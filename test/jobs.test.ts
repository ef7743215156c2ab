import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { EngineError } from '../src/engines/engine.ts'
import { runProcess } from '../src/engines/process.ts'
import type { JobHandlers } from '../src/modules/jobs/jobs.handlers.ts'
import { jobRunner } from '../src/modules/jobs/jobs.runner.ts'
import { PASSWORD, startApp, type TestApp } from './helpers/app.ts'
import { fixture } from './helpers/audio.ts'
import { backends } from './helpers/db.ts'
import { createJob, getJob, keyHeaders, parseSse, uploadFile, waitForJob } from './helpers/jobs.ts'

const JOB_SCOPES = ['files:read', 'files:write', 'jobs:read', 'jobs:write']
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const pidAlive = (pid: number) => {
  try { process.kill(pid, 0); return true } catch { return false }
}

for (const backend of await backends()) {
  describe(`jobs through the API with the real engines (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    let key: string
    let otherKey: string

    before(async () => {
      t = await startApp(backend.name, { WORKER_CONCURRENCY: '2', JOBS_MAX_RUNNING_FREE: '2' })
      key = await t.apiKey(await t.login((await t.createUser()).email), JOB_SCOPES)
      otherKey = await t.apiKey(await t.login((await t.createUser()).email), JOB_SCOPES)
    })
    after(() => t.close())

    it('analyzes a file: result, artifacts to download, and an event stream that ends with done', async () => {
      const fileId = await uploadFile(t.app, key, fixture('wav'))
      const created = await createJob(t.app, key, { type: 'analyze', fileId })
      assert.equal(created.status, 'queued')
      assert.equal(created.fileId, fileId)

      // The stream stays open until the job ends, then closes after `done`.
      const sse = await t.app.inject({ method: 'GET', url: `/api/v1/jobs/${created.id}/events`, headers: keyHeaders(key) })
      assert.equal(sse.statusCode, 200)
      assert.match(String(sse.headers['content-type']), /^text\/event-stream/)
      const events = parseSse(sse.body)
      const kinds = events.map((e) => e.event)
      assert.deepEqual(events[0], { id: events[0]!.id, event: 'status', data: { status: 'queued' } })
      assert.ok(kinds.includes('progress'), `progress events: ${kinds.join(',')}`)
      assert.equal(kinds.at(-1), 'done')
      const done = events.at(-1)!.data as { status: string, result: Record<string, unknown>, artifacts: { name: string }[] }
      assert.equal(done.status, 'succeeded')
      const ids = events.filter((e) => e.id !== undefined).map((e) => e.id!)
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'event ids increase')

      // Resuming after the second event replays only what came after it.
      const resumed = parseSse((await t.app.inject({ method: 'GET', url: `/api/v1/jobs/${created.id}/events`, headers: { ...keyHeaders(key), 'last-event-id': String(ids[1]) } })).body)
      assert.deepEqual(resumed.filter((e) => e.id !== undefined).map((e) => e.id), ids.slice(2))
      assert.equal(resumed.at(-1)!.event, 'done')
      const badResume = await t.app.inject({ method: 'GET', url: `/api/v1/jobs/${created.id}/events`, headers: { ...keyHeaders(key), 'last-event-id': 'yesterday' } })
      assert.equal(badResume.statusCode, 400)
      assert.match(badResume.json().detail, /Last-Event-ID/)

      const job = await getJob(t.app, key, created.id)
      assert.equal(job.status, 'succeeded')
      assert.equal(job.progress, 1)
      assert.equal(job.attempts, 1)
      assert.ok(job.startedAt && job.finishedAt)
      const result = job.result as { durationSec: number, channels: number, sampleRate: number }
      assert.ok(Math.abs(result.durationSec - 3) < 0.1, `duration ${result.durationSec}`)
      assert.equal(result.channels, 2)
      assert.equal(result.sampleRate, 44100)
      const names = job.artifacts.map((a) => a.name).sort()
      assert.deepEqual(names, ['spectrogram.png', 'waveform.json', 'waveform.png'])

      const png = await t.app.inject({ method: 'GET', url: `/api/v1/jobs/${job.id}/artifacts/waveform.png`, headers: keyHeaders(key) })
      assert.equal(png.statusCode, 200)
      assert.equal(png.headers['content-type'], 'image/png')
      assert.deepEqual(png.rawPayload.subarray(0, 8), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
      assert.equal(Number(png.headers['content-length']), job.artifacts.find((a) => a.name === 'waveform.png')!.size)
      const missing = await t.app.inject({ method: 'GET', url: `/api/v1/jobs/${job.id}/artifacts/nothing.txt`, headers: keyHeaders(key) })
      assert.equal(missing.statusCode, 404)

      const list = await t.app.inject({ method: 'GET', url: '/api/v1/jobs?status=succeeded&type=analyze', headers: keyHeaders(key) })
      assert.ok(list.json().items.some((j: { id: string }) => j.id === job.id))

      const admin = await t.login((await t.createUser('admin')).email)
      const metrics = await t.app.inject({ method: 'GET', url: '/metrics', headers: { cookie: admin.cookie } })
      assert.match(metrics.body, /tympan_job_attempt_seconds_count\{type="analyze",outcome="succeeded"\} [1-9]/)
    })

    it('hides other users\' files and jobs behind 404s', async () => {
      const fileId = await uploadFile(t.app, key, fixture('wav'))
      const onOthersFile = await t.app.inject({ method: 'POST', url: '/api/v1/jobs', headers: keyHeaders(otherKey), payload: { type: 'analyze', fileId } })
      assert.equal(onOthersFile.statusCode, 404)
      assert.equal(onOthersFile.json().detail, 'File was not found')
      const job = await createJob(t.app, key, { type: 'analyze', fileId })
      for (const [method, url] of [['GET', `/api/v1/jobs/${job.id}`], ['GET', `/api/v1/jobs/${job.id}/events`], ['GET', `/api/v1/jobs/${job.id}/artifacts/waveform.png`], ['DELETE', `/api/v1/jobs/${job.id}`]] as const) {
        const res = await t.app.inject({ method, url, headers: keyHeaders(otherKey) })
        assert.equal(res.statusCode, 404, `${method} ${url}`)
      }
      const theirs = await t.app.inject({ method: 'GET', url: '/api/v1/jobs', headers: keyHeaders(otherKey) })
      assert.ok(!theirs.json().items.some((j: { id: string }) => j.id === job.id))
      await waitForJob(t.app, key, job.id)
    })

    it("lets an admin read another user's files and jobs, but change only their own (404)", async () => {
      const adminKey = await t.apiKey(await t.login((await t.createUser('admin')).email), [...JOB_SCOPES, 'admin'])
      const fileId = await uploadFile(t.app, key, fixture('wav'))
      const job = await waitForJob(t.app, key, (await createJob(t.app, key, { type: 'analyze', fileId })).id)
      for (const url of [`/api/v1/files/${fileId}`, `/api/v1/files/${fileId}/content`, `/api/v1/jobs/${job.id}`, `/api/v1/jobs/${job.id}/events`, `/api/v1/jobs/${job.id}/artifacts/waveform.png`]) {
        assert.equal((await t.app.inject({ method: 'GET', url, headers: keyHeaders(adminKey) })).statusCode, 200, url)
      }
      const changes = [
        ['DELETE', `/api/v1/jobs/${job.id}`, undefined, 'Job was not found'],
        ['DELETE', `/api/v1/files/${fileId}`, undefined, 'File was not found'],
        ['POST', '/api/v1/jobs', { type: 'analyze', fileId }, 'File was not found']
      ] as const
      for (const [method, url, payload, detail] of changes) {
        const res = await t.app.inject({ method, url, headers: keyHeaders(adminKey), ...(payload ? { payload } : {}) })
        assert.equal(res.statusCode, 404, `${method} ${url}`)
        assert.equal(res.json().detail, detail)
      }
      assert.equal((await getJob(t.app, key, job.id)).status, 'succeeded')
      assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/files/${fileId}`, headers: keyHeaders(key) })).statusCode, 200)
      // Lists stay personal: "your jobs" is the admin's own.
      const listed = await t.app.inject({ method: 'GET', url: '/api/v1/jobs', headers: keyHeaders(adminKey) })
      assert.ok(!listed.json().items.some((j: { id: string }) => j.id === job.id))
    })

    it('refuses unknown types and params with a 422 that names the field, and creates nothing', async () => {
      const fileId = await uploadFile(t.app, key, fixture('wav'))
      const cases: [Record<string, unknown>, string][] = [
        [{ type: 'summon', fileId }, 'type'],
        [{ type: 'analyze', fileId, params: { colour: 'red' } }, 'params.colour'],
        [{ type: 'transcribe', fileId, params: { language: 'english' } }, 'params.language'],
        [{ type: 'transcribe', fileId, params: { temperature: 3 } }, 'params.temperature'],
        [{ type: 'transcribe', fileId, params: { engine: 'sphinx9' } }, 'params.engine']
      ]
      const before = await t.testDb.db.kysely.selectFrom('jobs').select('id').execute()
      for (const [payload, field] of cases) {
        const res = await t.app.inject({ method: 'POST', url: '/api/v1/jobs', headers: keyHeaders(key), payload })
        assert.equal(res.statusCode, 422, JSON.stringify(payload))
        assert.equal(res.json().field, field, res.body)
      }
      const unsupported = await t.app.inject({ method: 'POST', url: '/api/v1/jobs', headers: keyHeaders(key), payload: { type: 'transcribe', fileId, params: { language: 'fr' } } })
      assert.equal(unsupported.statusCode, 422)
      assert.match(unsupported.json().detail, /"fr" is not installed .*installed: en/)
      assert.deepEqual(unsupported.json().installed, ['en'])
      const noFile = await t.app.inject({ method: 'POST', url: '/api/v1/jobs', headers: keyHeaders(key), payload: { type: 'analyze' } })
      assert.equal(noFile.statusCode, 422)
      assert.equal(noFile.json().field, 'fileId')
      assert.match(noFile.json().detail, /fileId is required/)
      const after = await t.testDb.db.kysely.selectFrom('jobs').select('id').execute()
      assert.equal(after.length, before.length)
    })

    it('fails audio that passed intake but no longer decodes, at once and without retrying', async () => {
      const fileId = await uploadFile(t.app, key, fixture('wav'))
      // The stored bytes are damaged after intake (disk corruption, a tampered volume).
      const stored = (await t.app.container.storage.localPath(fileId))!
      fs.writeFileSync(stored, Buffer.alloc(fs.statSync(stored).size, 0x5a))
      const job = await waitForJob(t.app, key, (await createJob(t.app, key, { type: 'analyze', fileId })).id)
      assert.equal(job.status, 'failed')
      assert.equal(job.attempts, 1)
      assert.match(job.error!, /cannot read this file as audio/)
      assert.equal(job.errorCode, 'invalid_input')
      assert.doesNotMatch(job.error!, /\//, 'no paths in the error')
    })

    it('fails a job whose engine is missing at once, saying what to install', async () => {
      const fileId = await uploadFile(t.app, key, fixture('wav'))
      const job = await waitForJob(t.app, key, (await createJob(t.app, key, { type: 'transcribe', fileId, params: { engine: 'whisper' } })).id)
      assert.equal(job.status, 'failed')
      assert.equal(job.errorCode, 'missing_engine')
      assert.equal(job.attempts, 1, 'never retried')
      assert.match(job.error!, /WHISPER_CPP_BIN/)
    })

    it('lists the installed engines', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/engines', headers: keyHeaders(key) })
      assert.equal(res.statusCode, 200)
      const engines = res.json().engines as { name: string, available: boolean, languages?: string[], package: string, detail?: string }[]
      const sphinx = engines.find((e) => e.name === 'pocketsphinx')!
      assert.equal(sphinx.available, true)
      assert.deepEqual(sphinx.languages, ['en'])
      const whisper = engines.find((e) => e.name === 'whisper')!
      assert.equal(whisper.available, false)
      assert.match(whisper.detail ?? '', /WHISPER_CPP_BIN/)
    })
  })

  describe(`job control: cancel, delete, limits, retention (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    let key: string
    let userId: string
    let concurrent = 0
    let maxConcurrent = 0

    // A runner of our own with engines we control: `sleep` stands for a slow engine, `sh -c
    // 'kill -SEGV $$'` for one that crashes, and a short process timeout for one that hangs.
    const handlers: JobHandlers = {
      analyze: async (_input, params, context) => {
        concurrent++
        maxConcurrent = Math.max(maxConcurrent, concurrent)
        try {
          const mode = (params as { silenceThresholdDb?: number }).silenceThresholdDb
          if (mode === -1) await runProcess('sh', ['-c', 'kill -SEGV $$'], { signal: context.signal, timeoutMs: 5000, pkg: 'dash' })
          if (mode === -2) await runProcess('sleep', ['30'], { signal: context.signal, timeoutMs: 500, pkg: 'coreutils' })
          if (mode === -3) {
            const sleeper = runProcess('sleep', ['30'], { signal: context.signal, timeoutMs: 60_000, pkg: 'coreutils' })
            sleeper.catch(() => {})
            context.progress(0.5, 'sleeping')
            await pause(100)
            await sleeper
          }
          if (mode === -4) { context.progress(0.5, 'working'); await pause(400) }
          fs.writeFileSync(path.join(context.workDir, 'note.txt'), 'done')
          return { result: { ok: true }, artifacts: [{ name: 'note.txt', path: path.join(context.workDir, 'note.txt'), contentType: 'text/plain; charset=utf-8' }] }
        } finally { concurrent-- }
      },
      transcribe: async () => { throw new EngineError('invalid-input', 'not used here') },
      separate: async () => { throw new EngineError('invalid-input', 'not used here') },
      generate: async () => { throw new EngineError('invalid-input', 'not used here') },
      speak: async () => { throw new EngineError('invalid-input', 'not used here') },
      translate: async () => { throw new EngineError('invalid-input', 'not used here') }
    }
    const analyze = (fileId: string, mode = 0) => createJob(t.app, key, { type: 'analyze', fileId, params: mode ? { silenceThresholdDb: mode } : {} })

    before(async () => {
      t = await startApp(backend.name, { WORKER_CONCURRENCY: '0', JOB_RETRY_LIMIT: '0', JOBS_MAX_UNFINISHED_FREE: '20', JOBS_MAX_RUNNING_FREE: '1', DELETE_AFTER_PROCESSING: 'false' })
      const user = await t.createUser()
      userId = user.id
      key = await t.apiKey(await t.login(user.email), JOB_SCOPES)
    })
    after(() => t.close())

    const startRunner = (concurrency = 2) => {
      const c = t.app.container
      return jobRunner({
        jobs: c.repos.jobs, files: c.repos.files, storage: c.storage, workspace: c.workspace, queue: c.queue, signals: c.signals, handlers,
        parallelism: 1, retentionMs: 3_600_000, maxRunning: t.config.jobs.maxRunning, fileProcessed: async () => {}, log: t.app.log
      }).start(concurrency)
    }

    it('holds 200 simultaneous requests of one user to the unfinished-job limit', async () => {
      const fileId = await uploadFile(t.app, key, fixture('wav'))
      const answers = await Promise.all(Array.from({ length: 200 }, () =>
        t.app.inject({ method: 'POST', url: '/api/v1/jobs', headers: keyHeaders(key), payload: { type: 'analyze', fileId } })))
      const codes = answers.map((a) => a.statusCode)
      assert.equal(codes.filter((c) => c === 202).length, 20)
      assert.equal(codes.filter((c) => c === 429).length, 180)
      const refused = answers.find((a) => a.statusCode === 429)!
      assert.match(refused.json().detail, /20 queued or running jobs/)
      assert.ok(Number(refused.headers['retry-after']) > 0)
      const rows = await t.testDb.db.kysely.selectFrom('jobs').select('id').where('owner_id', '=', userId).where('status', '=', 'queued').execute()
      assert.equal(rows.length, 20)
      // Cancel them all (queued: 200 and the record stays), which frees the limit again.
      for (const row of rows) {
        const res = await t.app.inject({ method: 'DELETE', url: `/api/v1/jobs/${row.id}`, headers: keyHeaders(key) })
        assert.equal(res.statusCode, 200)
        assert.equal(res.json().status, 'canceled')
      }
      assert.equal((await t.app.inject({ method: 'POST', url: '/api/v1/jobs', headers: keyHeaders(key), payload: { type: 'analyze', fileId } })).statusCode, 202)
    })

    it('cancels a queued job so that it never runs, and fails a job whose file was deleted while it waited', async () => {
      const keep = await uploadFile(t.app, key, fixture('wav'))
      const doomed = await uploadFile(t.app, key, fixture('wav'))
      const canceled = await analyze(keep)
      const orphan = await analyze(doomed)
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/api/v1/jobs/${canceled.id}`, headers: keyHeaders(key) })).json().status, 'canceled')
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/api/v1/files/${doomed}`, headers: keyHeaders(key) })).statusCode, 204)
      await startRunner()
      const failed = await waitForJob(t.app, key, orphan.id)
      assert.equal(failed.status, 'failed')
      assert.equal(failed.error, 'The input file was deleted before the job ran.')
      assert.equal(failed.errorCode, 'invalid_input')
      const still = await getJob(t.app, key, canceled.id)
      assert.equal(still.status, 'canceled')
      assert.equal(still.attempts, 0, 'a canceled queued job never starts')
      // A canceled job is finished: DELETE now removes it.
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/api/v1/jobs/${canceled.id}`, headers: keyHeaders(key) })).statusCode, 204)
      assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/jobs/${canceled.id}`, headers: keyHeaders(key) })).statusCode, 404)
    })

    it('cancels a running job: the engine process is killed and the worker goes on', async () => {
      const fileId = await uploadFile(t.app, key, fixture('wav'))
      const job = await analyze(fileId, -3)
      await waitForJob(t.app, key, job.id, (j) => j.stage === 'sleeping')
      const sleepers = () => fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
        try { return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8') === 'sleep\x0030\x00' && fs.readFileSync(`/proc/${p}/stat`, 'utf8').split(' ')[3] === String(process.pid) } catch { return false }
      })
      await pause(200)
      const running = sleepers()
      assert.equal(running.length, 1, 'the engine process runs')
      const res = await t.app.inject({ method: 'DELETE', url: `/api/v1/jobs/${job.id}`, headers: keyHeaders(key) })
      assert.equal(res.statusCode, 200)
      assert.equal(res.json().status, 'canceled')
      for (let i = 0; i < 50 && pidAlive(Number(running[0])) && sleepers().length > 0; i++) await pause(50)
      assert.equal(sleepers().length, 0, 'the engine process is gone')
      const after = await getJob(t.app, key, job.id)
      assert.equal(after.status, 'canceled')
      assert.deepEqual(after.artifacts, [])
      // The worker slot is free again.
      assert.equal((await waitForJob(t.app, key, (await analyze(fileId)).id)).status, 'succeeded')
    })

    it('fails an engine that crashes or hangs with a clear message, and keeps working', async () => {
      const fileId = await uploadFile(t.app, key, fixture('wav'))
      const crashed = await waitForJob(t.app, key, (await analyze(fileId, -1)).id)
      assert.equal(crashed.status, 'failed')
      assert.match(crashed.error!, /sh failed \(killed by SIGSEGV\)/)
      assert.equal(crashed.errorCode, 'engine_failed')
      const hung = await waitForJob(t.app, key, (await analyze(fileId, -2)).id)
      assert.equal(hung.status, 'failed')
      assert.match(hung.error!, /sleep did not finish within 1 s and was stopped/)
      assert.equal(hung.errorCode, 'timeout')
      const fine = await waitForJob(t.app, key, (await analyze(fileId)).id)
      assert.equal(fine.status, 'succeeded')
    })

    it('deletes a finished job with its artifacts\' bytes', async () => {
      const fileId = await uploadFile(t.app, key, fixture('wav'))
      const job = await waitForJob(t.app, key, (await analyze(fileId)).id)
      assert.equal(job.status, 'succeeded')
      const artifact = await t.testDb.db.kysely.selectFrom('job_artifacts').selectAll().where('job_id', '=', job.id).executeTakeFirstOrThrow()
      assert.ok(await t.app.container.storage.exists(artifact.object_id))
      const res = await t.app.inject({ method: 'DELETE', url: `/api/v1/jobs/${job.id}`, headers: keyHeaders(key) })
      assert.equal(res.statusCode, 204)
      assert.equal(await t.app.container.storage.exists(artifact.object_id), false)
      assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/jobs/${job.id}`, headers: keyHeaders(key) })).statusCode, 404)
      assert.equal((await t.testDb.db.kysely.selectFrom('job_events').select('id').where('job_id', '=', job.id).execute()).length, 0)
    })

    it('runs at most JOBS_MAX_RUNNING_FREE jobs of one user at once', async () => {
      const fileId = await uploadFile(t.app, key, fixture('wav'))
      maxConcurrent = 0
      const jobs = await Promise.all(Array.from({ length: 4 }, () => analyze(fileId, -4)))
      for (const job of jobs) assert.equal((await waitForJob(t.app, key, job.id)).status, 'succeeded')
      assert.equal(maxConcurrent, 1)
    })

    it('keeps an expired file while a job still needs it, and sweeps expired jobs with their artifacts', async () => {
      const fileId = await uploadFile(t.app, key, fixture('wav'))
      const job = await waitForJob(t.app, key, (await analyze(fileId)).id)
      const waiting = await analyze(fileId, -3)
      await waitForJob(t.app, key, waiting.id, (j) => j.status === 'running')
      const db = t.testDb.db.kysely
      await db.updateTable('files').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', fileId).execute()
      await db.updateTable('jobs').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', job.id).execute()
      const objects = (await db.selectFrom('job_artifacts').select('object_id').where('job_id', '=', job.id).execute()).map((a) => a.object_id)
      // Attempt directories a killed worker left behind: swept once their job is not running.
      const work = await t.app.container.workspace.dir('jobs')
      const orphan = path.join(work, `${job.id}-killed`)
      const busy = path.join(work, `${waiting.id}-killed`)
      for (const dir of [orphan, busy]) {
        fs.mkdirSync(dir)
        fs.writeFileSync(path.join(dir, 'audio.raw'), 'x')
        fs.utimesSync(dir, new Date(Date.now() - 7_200_000), new Date(Date.now() - 7_200_000))
      }
      const report = await t.app.container.retention.sweep()
      assert.equal(fs.existsSync(orphan), false)
      assert.equal(fs.existsSync(busy), true, 'a running job keeps its directories')
      assert.equal(report.expiredFiles, 0, 'a running job still needs the file')
      assert.equal(report.expiredJobs, 1)
      for (const object of objects) assert.equal(await t.app.container.storage.exists(object), false)
      assert.ok(await db.selectFrom('files').select('id').where('id', '=', fileId).executeTakeFirst())
      await t.app.inject({ method: 'DELETE', url: `/api/v1/jobs/${waiting.id}`, headers: keyHeaders(key) })
      assert.equal((await t.app.container.retention.sweep()).expiredFiles, 1, 'once the job ended, the file goes')
    })

    it('exports and erases jobs with the account data', async () => {
      const user = await t.createUser()
      const session = await t.login(user.email)
      const theirKey = await t.apiKey(session, JOB_SCOPES)
      const fileId = await uploadFile(t.app, theirKey, fixture('wav'))
      const job = await waitForJob(t.app, theirKey, (await createJob(t.app, theirKey, { type: 'analyze', fileId })).id)
      const exported = await t.app.inject({ method: 'GET', url: '/api/v1/me/export', headers: { cookie: session.cookie } })
      assert.equal(exported.statusCode, 200, exported.body)
      assert.equal(exported.json().jobs[0].id, job.id)
      const objects = (await t.testDb.db.kysely.selectFrom('job_artifacts').select('object_id').where('job_id', '=', job.id).execute()).map((a) => a.object_id)
      assert.ok(objects.length > 0)
      const erased = await t.app.inject({ method: 'DELETE', url: '/api/v1/me/data', headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken }, payload: { password: PASSWORD } })
      assert.ok([200, 204].includes(erased.statusCode), erased.body)
      for (const object of objects) assert.equal(await t.app.container.storage.exists(object), false)
      assert.equal((await t.testDb.db.kysely.selectFrom('jobs').select('id').where('owner_id', '=', user.id).execute()).length, 0)
    })
  })

  describe(`retries with backoff (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    let key: string
    const attempts = new Map<string, number>()
    // Fails the first attempt of every job, and every attempt when asked to.
    const handlers: JobHandlers = {
      analyze: async (_input, params) => {
        const seen = (attempts.get(String(params.silenceThresholdDb)) ?? 0) + 1
        attempts.set(String(params.silenceThresholdDb), seen)
        if (seen === 1 || params.silenceThresholdDb === -2) throw new EngineError('transient', `the engine fell over (attempt ${seen})`)
        return { result: { attempt: seen }, artifacts: [] }
      },
      transcribe: async () => { throw new EngineError('invalid-input', 'not used here') },
      separate: async () => { throw new EngineError('invalid-input', 'not used here') },
      generate: async () => { throw new EngineError('invalid-input', 'not used here') },
      speak: async () => { throw new EngineError('invalid-input', 'not used here') },
      translate: async () => { throw new EngineError('invalid-input', 'not used here') }
    }

    before(async () => {
      t = await startApp(backend.name, { WORKER_CONCURRENCY: '0', JOB_RETRY_LIMIT: '1' })
      key = await t.apiKey(await t.login((await t.createUser()).email), JOB_SCOPES)
      const c = t.app.container
      await jobRunner({
        jobs: c.repos.jobs, files: c.repos.files, storage: c.storage, workspace: c.workspace, queue: c.queue, signals: c.signals, handlers,
        parallelism: 1, retentionMs: 3_600_000, maxRunning: t.config.jobs.maxRunning, fileProcessed: async () => {}, log: t.app.log
      }).start(1)
    })
    after(() => t.close())

    it('retries a transient failure and then succeeds; gives up after JOB_RETRY_LIMIT retries', async () => {
      const fileId = await uploadFile(t.app, key, fixture('wav'))
      const recovered = await waitForJob(t.app, key, (await createJob(t.app, key, { type: 'analyze', fileId, params: { silenceThresholdDb: -1 } })).id, undefined, 30_000)
      assert.equal(recovered.status, 'succeeded')
      assert.equal(recovered.attempts, 2)
      assert.deepEqual(recovered.result, { attempt: 2 })
      const events = parseSse((await t.app.inject({ method: 'GET', url: `/api/v1/jobs/${recovered.id}/events`, headers: keyHeaders(key) })).body)
      const statuses = events.filter((e) => e.event === 'status').map((e) => (e.data as { status: string }).status)
      assert.deepEqual(statuses, ['queued', 'running', 'queued', 'running', 'succeeded'])
      assert.match(JSON.stringify(events[2]!.data), /retrying: the engine fell over/)

      const hopeless = await waitForJob(t.app, key, (await createJob(t.app, key, { type: 'analyze', fileId, params: { silenceThresholdDb: -2 } })).id, undefined, 30_000)
      assert.equal(hopeless.status, 'failed')
      assert.equal(hopeless.attempts, 2)
      assert.equal(hopeless.errorCode, 'engine_failed')
      assert.match(hopeless.error!, /\(after 2 attempts\)$/)
    })
  })

  describe(`DELETE_AFTER_PROCESSING (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    let key: string
    before(async () => {
      t = await startApp(backend.name, { WORKER_CONCURRENCY: '1', DELETE_AFTER_PROCESSING: 'true' })
      key = await t.apiKey(await t.login((await t.createUser()).email), JOB_SCOPES)
    })
    after(() => t.close())

    it('deletes the upload once its job has finished, and keeps the results', async () => {
      const fileId = await uploadFile(t.app, key, fixture('wav'))
      const job = await waitForJob(t.app, key, (await createJob(t.app, key, { type: 'analyze', fileId })).id)
      assert.equal(job.status, 'succeeded')
      assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/files/${fileId}`, headers: keyHeaders(key) })).statusCode, 404)
      assert.equal(await t.app.container.storage.exists(fileId), false)
      const png = await t.app.inject({ method: 'GET', url: `/api/v1/jobs/${job.id}/artifacts/waveform.png`, headers: keyHeaders(key) })
      assert.equal(png.statusCode, 200)
      const audit = await t.testDb.db.kysely.selectFrom('audit_log').select('action').where('action', '=', 'file.deleted_after_processing').execute()
      assert.equal(audit.length, 1)
    })

    it('keeps the upload until the last of its jobs has finished', async () => {
      const fileId = await uploadFile(t.app, key, fixture('wav'))
      const [first, second] = await Promise.all([createJob(t.app, key, { type: 'analyze', fileId }), createJob(t.app, key, { type: 'analyze', fileId })])
      const done = await Promise.all([waitForJob(t.app, key, first!.id), waitForJob(t.app, key, second!.id)])
      assert.deepEqual(done.map((j) => j.status), ['succeeded', 'succeeded'], 'the second job still had its file')
      assert.equal(await t.app.container.storage.exists(fileId), false)
    })
  })
}
