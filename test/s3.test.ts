import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import type { LightMyRequestResponse } from 'fastify'
import { startApp, type TestApp } from './helpers/app.ts'
import { fixture, readFixture, wavHeader } from './helpers/audio.ts'
import { backends } from './helpers/db.ts'
import { createJob, keyHeaders, uploadFile, waitForJob } from './helpers/jobs.ts'
import { startS3, type S3Service } from './helpers/services.ts'

const SCOPES = ['files:read', 'files:write', 'jobs:read', 'jobs:write']
// What the SDK or the store could put in an error text; none of it may reach a client.
const INTERNALS = /ECONNREFUSED|127\.0\.0\.1|tympan-test|s3rver|aws|sdk|ENOSPC|\/tmp\//i

function filesUnder (dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name))
}

function assertProblem (res: LightMyRequestResponse, status: number, detail: RegExp) {
  assert.equal(res.statusCode, status, res.body)
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/)
  assert.match(res.json().detail, detail)
  assert.doesNotMatch(res.body, INTERNALS)
  assert.ok(Number(res.headers['retry-after']) > 0, 'Retry-After')
}

const uploadBytes = (t: TestApp, key: string, name: string, bytes: Buffer) => {
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(bytes)]), name)
  return t.app.inject({ method: 'POST', url: '/api/v1/files', headers: keyHeaders(key), payload: form })
}

for (const backend of await backends()) {
  describe(`files on S3 storage, end to end (${backend.name})`, { skip: backend.skip }, () => {
    let s3: S3Service
    let t: TestApp
    let key: string
    let client: S3Client
    let prefix: string

    const objectKeys = async () =>
      ((await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/` }))).Contents ?? []).map((object) => object.Key).sort()
    const hasObject = async (id: string) =>
      client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/objects/${id}` })).then(() => true, () => false)
    const rowIds = async () => (await t.testDb.db.kysely.selectFrom('files').select('id').execute()).map((r) => r.id).sort()
    const workspaceFiles = () => filesUnder(path.join(t.config.dataDir, 'files'))

    before(async () => {
      prefix = `e2e-${backend.name}`
      s3 = await startS3(prefix)
      // The SDK's default chain reads the credentials and region; Tympan's config never does.
      for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) process.env[name] = s3.env[name]
      client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' })
      t = await startApp(backend.name, { ...s3.env, WORKER_CONCURRENCY: '1' })
      key = await t.apiKey(await t.login((await t.createUser('member', { tier: 'premium' })).email), SCOPES)
    })
    after(async () => {
      await t.close()
      await s3.close()
    })

    it('keeps an uploaded file in the bucket, not on local disk, and serves it whole and by range', async () => {
      const bytes = readFixture('wav')
      const res = await uploadBytes(t, key, 'tone.wav', bytes)
      assert.equal(res.statusCode, 201, res.body)
      const { id } = res.json()
      assert.ok(await hasObject(id))
      assert.deepEqual(workspaceFiles(), [], 'the staged file went to the bucket')

      const whole = await t.app.inject({ method: 'GET', url: `/api/v1/files/${id}/content`, headers: keyHeaders(key) })
      assert.equal(whole.statusCode, 200)
      assert.deepEqual(whole.rawPayload, bytes)
      const part = await t.app.inject({ method: 'GET', url: `/api/v1/files/${id}/content`, headers: { ...keyHeaders(key), range: 'bytes=100-1099' } })
      assert.equal(part.statusCode, 206)
      assert.deepEqual(part.rawPayload, bytes.subarray(100, 1100))
    })

    const tus = (method: 'POST' | 'PATCH' | 'HEAD', url: string, headers: Record<string, string>, body?: Buffer) =>
      t.app.inject({ method, url, headers: { ...keyHeaders(key), 'tus-resumable': '1.0.0', ...headers }, ...(body ? { payload: body } : {}) })
    const tusCreate = async (size: number, name: string) => {
      const created = await tus('POST', '/api/v1/uploads', { 'upload-length': String(size), 'upload-metadata': `filename ${Buffer.from(name).toString('base64')}` })
      assert.equal(created.statusCode, 201, created.body)
      return new URL(String(created.headers.location), 'http://x').pathname
    }
    const tusSend = (url: string, offset: number, bytes: Buffer) => tus('PATCH', url, { 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' }, bytes)
    const openUploads = async () => (await t.testDb.db.kysely.selectFrom('resumable_uploads').select('id').execute()).length

    it('stores a tus upload in the bucket once it is complete and checked', async () => {
      const bytes = readFixture('mp3')
      const url = await tusCreate(bytes.length, 'song.mp3')
      const half = Math.floor(bytes.length / 2)
      assert.equal((await tusSend(url, 0, bytes.subarray(0, half))).statusCode, 204)
      const done = await tusSend(url, half, bytes.subarray(half))
      // The last PATCH answers the accepted file.
      assert.equal(done.statusCode, 200, done.body)
      const fileId = String(done.headers['tympan-file-id'])
      assert.equal(done.json().id, fileId)
      assert.ok(await hasObject(fileId))
      const content = await t.app.inject({ method: 'GET', url: `/api/v1/files/${fileId}/content`, headers: keyHeaders(key) })
      assert.deepEqual(content.rawPayload, bytes)
      assert.deepEqual(workspaceFiles(), [], 'the tus parts are gone from the workspace')
    })

    it('runs a job on an object: the engine reads a local copy and its artifacts go to the bucket', async () => {
      const fileId = await uploadFile(t.app, key, fixture('wav'))
      const job = await waitForJob(t.app, key, (await createJob(t.app, key, { type: 'analyze', fileId })).id)
      assert.equal(job.status, 'succeeded', JSON.stringify(job.error))
      const artifacts = await t.testDb.db.kysely.selectFrom('job_artifacts').selectAll().where('job_id', '=', job.id).execute()
      assert.ok(artifacts.length >= 3)
      for (const artifact of artifacts) assert.ok(await hasObject(artifact.object_id), artifact.name)
      const png = await t.app.inject({ method: 'GET', url: `/api/v1/jobs/${job.id}/artifacts/waveform.png`, headers: keyHeaders(key) })
      assert.equal(png.statusCode, 200)
      assert.deepEqual(png.rawPayload.subarray(0, 4), Buffer.from([0x89, 0x50, 0x4e, 0x47]))
      assert.deepEqual(workspaceFiles(), [], 'the job\'s local copy and work directory are removed')
    })

    it('deletes a file\'s object with it, and the retention sweep deletes expired ones', async () => {
      const deleted = await uploadFile(t.app, key, fixture('ogg'))
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/api/v1/files/${deleted}`, headers: keyHeaders(key) })).statusCode, 204)
      assert.equal(await hasObject(deleted), false)

      const expiring = await uploadFile(t.app, key, fixture('flac'))
      const later = new Date(Date.now() + 400 * 86_400_000)
      const report = await t.app.container.retention.sweep(later)
      assert.ok(report.expiredFiles >= 1)
      assert.equal(await hasObject(expiring), false)
    })

    it('answers 503 while the object store is down, leaving nothing behind, and recovers when it is back', async () => {
      const stored = await uploadFile(t.app, key, fixture('wav'))
      // A tus upload half sent before the store goes: its state is in the bucket.
      const song = readFixture('mp3')
      const half = Math.floor(song.length / 2)
      const open = await tusCreate(song.length, 'open.mp3')
      assert.equal((await tusSend(open, 0, song.subarray(0, half))).statusCode, 204)
      const rowsBefore = await rowIds()
      const keysBefore = await objectKeys()
      await s3.stop()
      try {
        assertProblem(await uploadBytes(t, key, 'down.wav', readFixture('wav')), 503, /file storage is unavailable/)
        // A download too: a problem before any byte, not a 200 cut off.
        assertProblem(await t.app.inject({ method: 'GET', url: `/api/v1/files/${stored}/content`, headers: keyHeaders(key) }), 503, /file storage is unavailable/)
        assert.deepEqual(await rowIds(), rowsBefore, 'no file row')
        assert.deepEqual(workspaceFiles(), [], 'no staged file')
        // tus lives in the bucket: a creation is refused with no reservation kept, and a PATCH
        // or HEAD of the open upload is 503 (retry), never 404 (which would make the client start over).
        const created = await tus('POST', '/api/v1/uploads', { 'upload-length': '1000', 'upload-metadata': `filename ${Buffer.from('down.mp3').toString('base64')}` })
        assert.equal(created.statusCode, 503, created.body)
        assert.match(created.json().detail, /file storage is unavailable/)
        assert.doesNotMatch(created.body, INTERNALS)
        assert.equal(await openUploads(), 1, 'only the open upload is reserved')
        const patched = await tusSend(open, half, song.subarray(half))
        assert.equal(patched.statusCode, 503, patched.body)
        assert.doesNotMatch(patched.body, INTERNALS)
        assert.equal((await tus('HEAD', open, {})).statusCode, 503)
        assert.deepEqual(await rowIds(), rowsBefore, 'no file row')
        assert.deepEqual(workspaceFiles(), [], 'no staged file')
        const ready = await t.app.inject({ method: 'GET', url: '/readyz' })
        assert.equal(ready.statusCode, 503)
        assert.match(ready.json().detail, /file storage/)
      } finally {
        await s3.start()
      }
      assert.deepEqual(await objectKeys(), keysBefore, 'no object, and the open upload as it was')
      assert.equal((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
      assert.equal((await uploadBytes(t, key, 'back.wav', readFixture('wav'))).statusCode, 201)
      assert.deepEqual((await t.app.inject({ method: 'GET', url: `/api/v1/files/${stored}/content`, headers: keyHeaders(key) })).rawPayload, readFixture('wav'))
      // The open upload resumes where it stood.
      const done = await tusSend(open, half, song.subarray(half))
      assert.equal(done.statusCode, 200, done.body)
      assert.equal(await openUploads(), 0)
    })

    it('answers 507 when the local workspace is full, leaving nothing behind', async () => {
      const staging = path.join(t.config.dataDir, 'files', 'staging')
      fs.mkdirSync(staging, { recursive: true })
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', staging])
      try {
        const rowsBefore = await rowIds()
        const keysBefore = await objectKeys()
        // A WAV header, then more silence than the 4 MiB disk holds.
        const big = Buffer.concat([wavHeader(6 * 1024 * 1024), Buffer.alloc(6 * 1024 * 1024)])
        assertProblem(await uploadBytes(t, key, 'big.wav', big), 507, /no space left/)
        assert.deepEqual(await rowIds(), rowsBefore, 'no file row')
        assert.deepEqual(await objectKeys(), keysBefore, 'no object')
        assert.deepEqual(filesUnder(staging), [], 'the partial staged file is removed')
        assert.equal((await uploadBytes(t, key, 'small.wav', readFixture('wav'))).statusCode, 201, 'a file that fits still goes through')

        // A tus upload's bytes go to the bucket; its completion, downloaded into a staging
        // area too small for it, is 507 and refused as a whole.
        const url = await tusCreate(big.length, 'big.wav')
        const refused = await tusSend(url, 0, big)
        assert.equal(refused.statusCode, 507, refused.body)
        assert.match(refused.json().detail, /no space left/)
        assert.doesNotMatch(refused.body, INTERNALS)
        assert.equal(await openUploads(), 0, 'no reservation')
        assert.deepEqual((await objectKeys()).filter((k) => k?.startsWith(`${prefix}/resumable/`)), [], 'no tus object')
        assert.deepEqual(filesUnder(staging), [], 'no partial download')
        assert.equal((await t.app.inject({ method: 'HEAD', url, headers: { ...keyHeaders(key), 'tus-resumable': '1.0.0' } })).statusCode, 404)
      } finally {
        execFileSync('umount', [staging])
      }
    })

    it('answers 507 to a tus PATCH when the temporary directory S3Store buffers parts in is full; the upload stays open', async () => {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-full-tmp-'))
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', tmp])
      const previous = process.env.TMPDIR
      try {
        const big = Buffer.concat([wavHeader(12 * 1024 * 1024), Buffer.alloc(12 * 1024 * 1024)])
        const url = await tusCreate(big.length, 'huge.wav')
        process.env.TMPDIR = tmp
        const refused = await tusSend(url, 0, big)
        process.env.TMPDIR = previous
        assert.equal(refused.statusCode, 507, refused.body)
        assert.match(refused.json().detail, /no space left/)
        assert.doesNotMatch(refused.body, INTERNALS)
        assert.equal(await openUploads(), 1, 'still open, to resume or terminate')
        assert.equal((await t.app.inject({ method: 'DELETE', url, headers: { ...keyHeaders(key), 'tus-resumable': '1.0.0' } })).statusCode, 204)
        assert.equal(await openUploads(), 0)
        assert.deepEqual((await objectKeys()).filter((k) => k?.startsWith(`${prefix}/resumable/`)), [], 'a terminated upload leaves nothing')
        assert.deepEqual(filesUnder(tmp), [], 'no part buffer left behind')
      } finally {
        if (previous === undefined) delete process.env.TMPDIR
        else process.env.TMPDIR = previous
        execFileSync('umount', [tmp])
        fs.rmSync(tmp, { recursive: true, force: true })
      }
    })
  })
}
