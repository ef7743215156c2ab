import assert from 'node:assert/strict'
import { text } from 'node:stream/consumers'
import { describe, it } from 'node:test'
import type { Principal } from '../../access/permissions.ts'
import type { EngineStatus } from '../../engines/engine.ts'
import { HttpProblem } from '../../http/problem.ts'
import { fakeFilesRepository, fakeJobsRepository, fakeQueue, fakeSignals, fileRow, principal, testConfig } from '../../testing/fakes.ts'
import { fakeStorage } from '../../testing/fake-storage.ts'
import type { EnginesService } from '../engines/engines.service.ts'
import { jobsService, type JobsServiceDeps } from './jobs.service.ts'

const problem = (status: number, detail?: RegExp) => (error: unknown) => {
  assert.ok(error instanceof HttpProblem, `expected an HttpProblem, got ${String(error)}`)
  assert.equal(error.status, status)
  if (detail) assert.match(error.message, detail)
  return true
}

function setup (options: { env?: Record<string, string>, engines?: EngineStatus[], translationPairs?: JobsServiceDeps['translationPairs'] } = {}) {
  const config = testConfig({ JOBS_MAX_UNFINISHED_FREE: '2', FILE_RETENTION_HOURS: '24', ...options.env })
  const files = fakeFilesRepository()
  const jobs = fakeJobsRepository({ files })
  const storage = fakeStorage()
  const queue = fakeQueue()
  const signals = fakeSignals()
  const statuses = options.engines ?? []
  const engines: EnginesService = { list: async () => statuses, status: async (name) => statuses.find((s) => s.name === name) }
  const translationPairs = options.translationPairs ?? (async () => { throw new Error('translationPairs was used, but this test does not provide it') })
  const service = jobsService({ config, jobs, files, storage, queue, signals, engines, translationPairs })
  const fileOf = (owner: Principal, overrides = {}) => { const f = fileRow(owner.userId, overrides); files.rows.set(f.id, f); return f }
  return { service, files, jobs, storage, queue, signals, fileOf }
}

describe('jobs service: create', () => {
  it('queues a job on the owner\'s file with its tier and time budget, and announces it', async () => {
    const { service, queue, signals, fileOf } = setup()
    const alice = principal('member', 'premium')
    const file = fileOf(alice, { duration_sec: 60 })
    const job = await service.create(alice, { type: 'analyze', fileId: file.id })
    assert.equal(job.status, 'queued')
    assert.equal(job.fileId, file.id)
    assert.deepEqual(queue.sent, [{ message: { jobId: job.id }, options: { ownerId: alice.userId, tier: 'premium', timeoutSec: 180 } }])
    assert.deepEqual(signals.changed.published, [job.id])
  })

  it('refuses an unknown type and bad params with a 422 naming the field', async () => {
    const { service, fileOf, jobs } = setup()
    const alice = principal()
    const file = fileOf(alice)
    await assert.rejects(service.create(alice, { type: 'render', fileId: file.id }), (error) => problem(422, /^type must be one of: analyze, transcribe(, [a-z]+)*$/)(error) && (error as HttpProblem).extra.field === 'type')
    await assert.rejects(service.create(alice, { type: 'analyze', fileId: file.id, params: { loud: true } }), problem(422, /params\.loud/))
    assert.equal(jobs.rows.size, 0)
  })

  it('queues a translate job with canonical language codes, and refuses one with no route before queueing anything', async () => {
    const pocketsphinx: EngineStatus = { name: 'pocketsphinx', available: true, package: 'pocketsphinx', languages: ['en'] }
    const { service, fileOf, jobs, queue } = setup({
      engines: [pocketsphinx],
      translationPairs: async () => [{ from: 'en', to: 'es', mode: 'eng-spa' }]
    })
    const alice = principal()
    const job = await service.create(alice, { type: 'translate', fileId: fileOf(alice).id, params: { target_lang: 'spa', speak: true } })
    assert.deepEqual(job.params, { target_lang: 'es', source_lang: 'en', speak: true })
    await assert.rejects(service.create(alice, { type: 'translate', fileId: fileOf(alice).id, params: { target_lang: 'de' } }), problem(422, /into German \(de\): English \(en\) translates into es/))
    assert.equal(jobs.rows.size, 1)
    assert.equal(queue.sent.length, 1)
  })

  it('answers 404 for another user\'s file and for an expired one, as for a missing one', async () => {
    const { service, fileOf, jobs, queue } = setup()
    const alice = principal()
    const bob = principal()
    const bobs = fileOf(bob)
    const expired = fileOf(alice, { expires_at: new Date(Date.now() - 1000) })
    await assert.rejects(service.create(alice, { type: 'analyze', fileId: bobs.id }), problem(404, /^File was not found$/))
    await assert.rejects(service.create(alice, { type: 'analyze', fileId: expired.id }), problem(404, /^File was not found$/))
    await assert.rejects(service.create(alice, { type: 'analyze', fileId: 'no-such-file' }), problem(404, /^File was not found$/))
    assert.equal(jobs.rows.size, 0)
    assert.equal(queue.sent.length, 0)
  })

  it('refuses past the tier\'s unfinished jobs with a 429 and a retry hint; finished jobs do not count', async () => {
    const { service, fileOf, jobs } = setup()
    const alice = principal()
    const file = fileOf(alice)
    jobs.seed({ owner_id: alice.userId, status: 'succeeded' })
    await service.create(alice, { type: 'analyze', fileId: file.id })
    await service.create(alice, { type: 'analyze', fileId: file.id })
    await assert.rejects(service.create(alice, { type: 'analyze', fileId: file.id }), (error) =>
      problem(429, /^You have 2 queued or running jobs, the limit of the free tier/)(error) && (error as HttpProblem).headers['retry-after'] === '30')
    // Another user's allowance is their own.
    const bob = principal()
    await service.create(bob, { type: 'analyze', fileId: fileOf(bob).id })
  })

  it('keeps no record when the queue refuses the job', async () => {
    const { service, fileOf, jobs, queue } = setup()
    const alice = principal()
    queue.faults.send = new Error('queue down')
    await assert.rejects(service.create(alice, { type: 'analyze', fileId: fileOf(alice).id }), /queue down/)
    assert.equal(jobs.rows.size, 0)
  })

  it('refuses a transcription language the installed engine lacks, but queues one for a missing engine', async () => {
    const { service, fileOf } = setup({ engines: [
      { name: 'pocketsphinx', available: true, package: 'pocketsphinx', languages: ['en', 'de'] },
      { name: 'whisper', available: false, package: '' }
    ] })
    const alice = principal()
    const file = fileOf(alice)
    await assert.rejects(service.create(alice, { type: 'transcribe', fileId: file.id, params: { language: 'fr' } }), (error) =>
      problem(422, /^params\.language "fr" is not installed for pocketsphinx; installed: en, de$/)(error) && (error as HttpProblem).extra.field === 'params.language')
    assert.equal((await service.create(alice, { type: 'transcribe', fileId: file.id, params: { language: 'de' } })).status, 'queued')
    // The job fails at once in the worker, naming the package, rather than a 422 here.
    assert.equal((await service.create(alice, { type: 'transcribe', fileId: file.id, params: { engine: 'whisper', language: 'fr' } })).status, 'queued')
  })
})

describe('jobs service: reading', () => {
  it('answers 404 for another user\'s job, its artifacts and its events', async () => {
    const { service, jobs } = setup()
    const alice = principal()
    const bob = principal()
    const job = jobs.seed({ owner_id: alice.userId })
    await assert.rejects(service.get(bob, job.id), problem(404, /^Job was not found$/))
    await assert.rejects(service.artifact(bob, job.id, 'waveform.png'), problem(404, /^Job was not found$/))
    await assert.rejects(service.events(bob, job.id, 0), problem(404))
    assert.equal((await service.get(alice, job.id)).id, job.id)
  })

  it('streams an artifact by name, and answers 404 for a name the job does not have', async () => {
    const { service, jobs, storage } = setup()
    const alice = principal()
    const job = jobs.seed({ owner_id: alice.userId, status: 'succeeded' })
    jobs.artifactRows.push({ job_id: job.id, name: 'transcript.txt', object_id: 'obj-1', content_type: 'text/plain', size: 5 })
    storage.objects.set('obj-1', Buffer.from('hello'))
    const { artifact, stream } = await service.artifact(alice, job.id, 'transcript.txt')
    assert.equal(artifact.content_type, 'text/plain')
    assert.equal(await text(stream), 'hello')
    await assert.rejects(service.artifact(alice, job.id, 'transcript.srt'), problem(404, /^Artifact was not found$/))
  })

  it('lists only the owner\'s jobs, newest first, a page at a time, with their artifacts', async () => {
    const { service, jobs } = setup()
    const alice = principal()
    const [a, b, c] = [jobs.seed({ owner_id: alice.userId }), jobs.seed({ owner_id: alice.userId, status: 'succeeded' }), jobs.seed({ owner_id: alice.userId })]
    jobs.seed({ owner_id: principal().userId })
    jobs.artifactRows.push({ job_id: b.id, name: 'waveform.png', object_id: 'o', content_type: 'image/png', size: 3 })
    const first = await service.list(alice, 2, {})
    assert.deepEqual(first.items.map((j) => j.id), [c.id, b.id])
    assert.deepEqual(first.items[1]!.artifacts, [{ name: 'waveform.png', contentType: 'image/png', size: 3 }])
    assert.ok(first.nextCursor)
    const second = await service.list(alice, 2, {}, first.nextCursor)
    assert.deepEqual(second.items.map((j) => j.id), [a.id])
    assert.equal(second.nextCursor, null)
    assert.deepEqual((await service.list(alice, 10, { status: 'succeeded' })).items.map((j) => j.id), [b.id])
  })

  it('waitFor wakes when the job finishes, and gives up after its timeout', async () => {
    const { service, jobs, signals } = setup()
    const alice = principal()
    const job = jobs.seed({ owner_id: alice.userId, status: 'running' })
    const waiting = service.waitFor(job.id, 5000)
    await jobs.finish(job.id, { status: 'succeeded', expiresAt: new Date() })
    const started = Date.now()
    await signals.changed.publish(job.id)
    assert.equal((await waiting)?.status, 'succeeded')
    assert.ok(Date.now() - started < 900, 'woken by the signal, not by the 1000 ms poll')
    const other = jobs.seed({ owner_id: alice.userId, status: 'running' })
    assert.equal(await service.waitFor(other.id, 50), undefined)
  })
})

describe('jobs service: following a job', () => {
  it('yields each event as it is written and returns the job once it has finished', async () => {
    const { service, jobs, signals } = setup()
    const job = jobs.seed({ owner_id: principal().userId, status: 'running' })
    const follow = service.follow(job.id, 5000)
    const seen: string[] = []
    const reading = (async () => {
      for (;;) {
        const next = await follow.next()
        if (next.done) return next.value
        seen.push(`${next.value.kind} ${JSON.stringify(next.value.data)}`)
      }
    })()
    await jobs.partial(job.id, { segment: 1 })
    await signals.changed.publish(job.id)
    await jobs.partial(job.id, { segment: 2 })
    await jobs.finish(job.id, { status: 'succeeded', expiresAt: new Date() })
    await signals.changed.publish(job.id)
    const started = Date.now()
    assert.equal((await reading)?.status, 'succeeded')
    assert.ok(Date.now() - started < 900, 'woken by the signal, not by the 1000 ms poll')
    assert.deepEqual(seen, ['partial {"segment":1}', 'partial {"segment":2}', 'status {"status":"succeeded"}'])
  })

  it('ends without the job when the caller aborts, when the job is deleted, and at its deadline', async () => {
    const { service, jobs } = setup()
    const job = jobs.seed({ owner_id: principal().userId, status: 'running' })
    const abort = new AbortController()
    const aborted = service.follow(job.id, 60_000, abort.signal).next()
    setTimeout(() => { abort.abort() }, 20)
    assert.deepEqual(await aborted, { done: true, value: undefined })
    assert.deepEqual(await service.follow(job.id, 30).next(), { done: true, value: undefined })
    await jobs.delete(job.id)
    assert.deepEqual(await service.follow(job.id, 60_000).next(), { done: true, value: undefined })
  })
})

describe('jobs service: cancel and delete', () => {
  for (const status of ['queued', 'running'] as const) {
    it(`cancels a ${status} job, keeps its record until its retention, and stops its worker`, async () => {
      const { service, jobs, signals, queue } = setup()
      const alice = principal()
      const job = jobs.seed({ owner_id: alice.userId, status })
      const result = await service.cancelOrDelete(alice, job.id)
      assert.ok('canceled' in result)
      assert.equal(result.canceled.status, 'canceled')
      const row = jobs.rows.get(job.id)!
      assert.equal(row.status, 'canceled')
      const retention = row.expires_at!.getTime() - Date.now()
      assert.ok(retention > 23.9 * 3_600_000 && retention <= 24 * 3_600_000, `expires in ${retention} ms`)
      assert.deepEqual(signals.cancel.published, [job.id])
      assert.deepEqual(queue.canceled, [job.id])
    })
  }

  it('deletes a finished job with its artifacts\' bytes and its queue entry', async () => {
    const { service, jobs, storage, queue } = setup()
    const alice = principal()
    const job = jobs.seed({ owner_id: alice.userId, status: 'failed' })
    jobs.artifactRows.push({ job_id: job.id, name: 'a.txt', object_id: 'obj-a', content_type: 'text/plain', size: 1 })
    storage.objects.set('obj-a', Buffer.from('a'))
    storage.objects.set('obj-other', Buffer.from('b'))
    assert.deepEqual(await service.cancelOrDelete(alice, job.id), { deleted: true })
    assert.equal(jobs.rows.has(job.id), false)
    assert.deepEqual([...storage.objects.keys()], ['obj-other'])
    assert.deepEqual(queue.forgotten, [job.id])
  })

  it('deletes a job that finished between the read and the cancel', async () => {
    const { service, jobs } = setup()
    const alice = principal()
    const job = jobs.seed({ owner_id: alice.userId, status: 'running' })
    const finish = jobs.finish
    jobs.finish = async (id, end) => { await finish(id, { status: 'succeeded', expiresAt: new Date() }); return finish(id, end) }
    assert.deepEqual(await service.cancelOrDelete(alice, job.id), { deleted: true })
    assert.equal(jobs.rows.has(job.id), false)
  })

  it('leaves another user\'s job untouched behind a 404', async () => {
    const { service, jobs, signals } = setup()
    const job = jobs.seed({ owner_id: principal().userId, status: 'running' })
    await assert.rejects(service.cancelOrDelete(principal(), job.id), problem(404))
    assert.equal(jobs.rows.get(job.id)?.status, 'running')
    assert.deepEqual(signals.cancel.published, [])
  })
})

describe('jobs service: personal data', () => {
  it('exports and erases exactly the user\'s jobs, artifacts included', async () => {
    const { service, jobs, storage } = setup()
    const alice = principal()
    const bob = principal()
    const mine = jobs.seed({ owner_id: alice.userId, status: 'succeeded' })
    const running = jobs.seed({ owner_id: alice.userId, status: 'running' })
    const theirs = jobs.seed({ owner_id: bob.userId })
    jobs.artifactRows.push({ job_id: mine.id, name: 'a.txt', object_id: 'obj-a', content_type: 'text/plain', size: 1 })
    storage.objects.set('obj-a', Buffer.from('a'))
    const exported = await service.personalData.export(alice.userId)
    assert.deepEqual(exported.map((j) => j.id).sort(), [mine.id, running.id].sort())
    assert.equal(exported.find((j) => j.id === mine.id)?.artifacts.length, 1)
    await service.personalData.erase(alice.userId)
    assert.deepEqual([...jobs.rows.keys()], [theirs.id])
    assert.equal(storage.objects.size, 0)
  })
})

describe('jobs service: the queue overview', () => {
  it('counts every owner\'s jobs by type and status, with how long the oldest queued one waits', async () => {
    const { service, fileOf, jobs } = setup()
    const alice = principal()
    const bob = principal()
    const first = await service.create(alice, { type: 'analyze', fileId: fileOf(alice).id })
    await service.create(bob, { type: 'analyze', fileId: fileOf(bob).id })
    const running = await service.create(bob, { type: 'transcribe', fileId: fileOf(bob).id })
    jobs.rows.set(running.id, { ...jobs.rows.get(running.id)!, status: 'running' })
    const overview = await service.overview()
    assert.deepEqual(overview.types.map((t) => [t.type, t.counts]), [
      ['analyze', { queued: 2, running: 0, succeeded: 0, failed: 0, canceled: 0 }],
      ['transcribe', { queued: 0, running: 1, succeeded: 0, failed: 0, canceled: 0 }]
    ])
    assert.equal(overview.types[0]!.oldestQueuedAt, first.createdAt)
    assert.equal(overview.types[1]!.oldestQueuedAt, null)
  })
})
