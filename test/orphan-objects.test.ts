import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { startApp, type TestApp } from './helpers/app.ts'
import { fixture } from './helpers/audio.ts'
import { runTympan } from './helpers/cli.ts'
import { backends } from './helpers/db.ts'
import { createJob, uploadFile, waitForJob } from './helpers/jobs.ts'
import { startS3, type S3Service } from './helpers/services.ts'

// The sweep collects objects that no row names once they are older than the grace period:
// what a worker leaves when PostgreSQL goes away between storing a job's artifacts and
// recording them (bench/scale scenario 3). Ages are set on the files, never waited for.
const DAY = 86_400_000

const age = (file: string, ms: number) => {
  const then = new Date(Date.now() - ms)
  fs.utimesSync(file, then, then)
}

for (const backend of await backends()) {
  describe(`orphaned objects: the retention sweep (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    let key: string
    const objectPath = (id: string) => path.join(t.config.dataDir, 'files', 'objects', id.slice(0, 2), id)
    const store = async (id: string) => { await t.app.container.storage.write(id, Readable.from([randomBytes(64)])) }

    before(async () => {
      t = await startApp(backend.name, { WORKER_CONCURRENCY: '1' })
      key = await t.apiKey(await t.login((await t.createUser('member', { tier: 'premium' })).email), ['files:read', 'files:write', 'jobs:read', 'jobs:write'])
    })
    after(() => t.close())

    it('deletes an object no row names once past the grace period, keeps files, artifacts and young objects', async () => {
      const fileId = await uploadFile(t.app, key, fixture('wav'))
      const job = await waitForJob(t.app, key, (await createJob(t.app, key, { type: 'analyze', fileId })).id)
      assert.equal(job.status, 'succeeded', JSON.stringify(job.error))
      const artifacts = (await t.testDb.db.kysely.selectFrom('job_artifacts').select('object_id').where('job_id', '=', job.id).execute()).map((a) => a.object_id)
      assert.ok(artifacts.length > 0)
      // A first attempt's artifacts whose finish never reached the database, and an object whose row is a moment away.
      const orphans = [randomUUID(), randomUUID()]
      const young = randomUUID()
      for (const id of [...orphans, young]) await store(id)
      for (const id of [fileId, ...artifacts, ...orphans]) age(objectPath(id), 2 * DAY)
      age(objectPath(young), DAY - 3_600_000)

      const report = await t.app.container.retention.sweep()
      assert.equal(report.orphanObjects, 2)
      for (const id of orphans) assert.equal(fs.existsSync(objectPath(id)), false, 'the orphan is deleted')
      for (const id of [fileId, ...artifacts, young]) assert.ok(fs.existsSync(objectPath(id)), `${id} stays`)
      const audits = await t.testDb.db.kysely.selectFrom('audit_log').select('detail').where('action', '=', 'object.orphan_deleted').execute()
      const named = audits.map((a) => (typeof a.detail === 'string' ? JSON.parse(a.detail) : a.detail) as { objectId: string }).map((d) => d.objectId)
      assert.deepEqual(named.sort(), [...orphans].sort())
    })
  })
}

describe('orphaned objects: the retention sweep on S3 (s3rver)', () => {
  let s3: S3Service
  let t: TestApp
  // s3rver answers LastModified from its object file's mtime.
  const objectFile = (id: string) => path.join(s3.directory, s3.bucket, 'orphans', 'objects', `${id}._S3rver_object`)
  before(async () => {
    s3 = await startS3('orphans')
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) process.env[name] = s3.env[name]
    t = await startApp('pglite', { ...s3.env, WORKER_CONCURRENCY: '0' })
  })
  after(async () => {
    await t.close()
    await s3.close()
  })

  it('deletes an aged object no row names from the bucket, and keeps an aged file\'s object', async () => {
    const key = await t.apiKey(await t.login((await t.createUser('member', { tier: 'premium' })).email), ['files:read', 'files:write'])
    const fileId = await uploadFile(t.app, key, fixture('ogg'))
    const orphan = randomUUID()
    await t.app.container.storage.write(orphan, Readable.from([randomBytes(64)]))
    for (const id of [fileId, orphan]) age(objectFile(id), 2 * DAY)
    assert.equal((await t.app.container.retention.sweep()).orphanObjects, 1)
    assert.equal(await t.app.container.storage.exists(orphan), false)
    assert.equal(await t.app.container.storage.exists(fileId), true)
  })
})

describe('orphaned objects: tympan admin sweep', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-orphans-'))
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }))
  const secret = () => randomBytes(48).toString('base64url')
  const env = (extra: Record<string, string>) => ({
    PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: process.env.HOME ?? os.tmpdir(),
    LANG: 'C.UTF-8',
    TYMPAN_DATA_DIR: dataDir,
    JWT_SECRET_KEY: secret(),
    CSRF_SECRET_KEY: secret(),
    SESSION_SECRET_KEY: secret(),
    LOG_LEVEL: 'silent',
    ...extra
  })
  const place = (id: string, ageMs: number) => {
    const file = path.join(dataDir, 'files', 'objects', id.slice(0, 2), id)
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
    fs.writeFileSync(file, 'stored, then the database went away', { mode: 0o600 })
    age(file, ageMs)
    return file
  }

  it('collects an object older than ORPHAN_OBJECT_GRACE_MINUTES that no row names, and keeps a younger one', async () => {
    const old = place(randomUUID(), 3 * 60_000)
    const young = place(randomUUID(), 60_000)
    const result = await runTympan(['admin', 'sweep'], { env: env({ ORPHAN_OBJECT_GRACE_MINUTES: '2' }), cwd: os.tmpdir() })
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /, 1 orphaned object\(s\)\./)
    assert.equal(fs.existsSync(old), false)
    assert.ok(fs.existsSync(young))
  })
})
