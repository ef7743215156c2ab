import assert from 'node:assert/strict'
import fs from 'node:fs'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { memoryLog } from './helpers/log.ts'
import { after, before, describe, it } from 'node:test'
import { DetailedError, Upload, type HttpResponse, type UploadOptions } from 'tus-js-client'
import type { Tier, User } from '../src/db/schema.ts'
import { loggerOptions } from '../src/http/logger.ts'
import { storageFailure } from '../src/storage/storage-errors.ts'
import { backends } from './helpers/db.ts'
import { PASSWORD, startApp, testConfig, type TestApp } from './helpers/app.ts'
import { fixture, readFixture, sha256Of } from './helpers/audio.ts'

const MB = 1024 * 1024
const CHUNK = 64 * 1024
const ALLOWED_ORIGIN = 'https://app.tympan.test'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

interface Actor {
  user: User
  accessToken: string
}

interface Finished {
  status: number
  fileId: string | undefined
  body: string
}

type Source = Buffer | fs.ReadStream

/** tus-js-client, configured as a Tympan client: bearer auth, small chunks, no silent retries. */
function tusOptions (base: string, as: Actor, options: UploadOptions): UploadOptions {
  return {
    endpoint: `${base}/api/v1/uploads`,
    headers: { authorization: `Bearer ${as.accessToken}` },
    chunkSize: CHUNK,
    retryDelays: null,
    ...options
  }
}

/** Runs an upload to its end: the server's final answer, or the error the client saw. */
function runUpload (source: Source, options: UploadOptions): Promise<{ upload: Upload, finished?: Finished, error?: Error | DetailedError }> {
  return new Promise((resolve) => {
    const upload: Upload = new Upload(source, {
      ...options,
      onSuccess: ({ lastResponse }: { lastResponse: HttpResponse }) => resolve({
        upload,
        finished: { status: lastResponse.getStatus(), fileId: lastResponse.getHeader('tympan-file-id'), body: lastResponse.getBody() }
      }),
      onError: (error) => resolve({ upload, error })
    })
    upload.start()
  })
}

const statusOf = (error: Error | DetailedError | undefined): number | undefined =>
  error instanceof DetailedError ? error.originalResponse?.getStatus() : undefined

function filesUnder (dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name))
}

const metadataHeader = (metadata: Record<string, string>) =>
  Object.entries(metadata).map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`).join(',')

interface Problem {
  type: string
  title: string
  status: number
  detail: string
  requestId: string
  [extra: string]: unknown
}

/** A tus answer that must be an RFC 9457 problem: its document. */
async function problemOf (res: Response, status: number): Promise<Problem> {
  const text = await res.text()
  assert.equal(res.status, status, text)
  assert.match(String(res.headers.get('content-type')), /^application\/problem\+json/)
  const problem = JSON.parse(text) as Problem
  assert.equal(problem.status, status)
  assert.match(problem.requestId, /\S/)
  return problem
}

for (const backend of await backends()) {
  describe(`resumable uploads, tus 1.0 (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    let base: string
    let alice: Actor
    let bob: Actor
    let filesRoot: string
    const log = memoryLog()

    const actor = async (tier: Tier = 'premium'): Promise<Actor> => {
      const user = await t.createUser('member', { tier })
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: PASSWORD, tokens: true } })
      assert.equal(res.statusCode, 200, res.body)
      return { user, accessToken: res.json().accessToken }
    }
    const tus = (as: Actor | undefined, method: string, url: string, headers: Record<string, string> = {}, body?: Buffer) =>
      fetch(new URL(url, base), {
        method,
        headers: { 'tus-resumable': '1.0.0', ...(as ? { authorization: `Bearer ${as.accessToken}` } : {}), ...headers },
        ...(body ? { body: new Uint8Array(body) } : {})
      })
    const workFiles = () => ({
      resumable: filesUnder(path.join(filesRoot, 'resumable')),
      staging: filesUnder(path.join(filesRoot, 'staging')),
      objects: filesUnder(path.join(filesRoot, 'objects'))
    })
    const listFiles = async (as: Actor) => {
      const res = await fetch(`${base}/api/v1/files?limit=200`, { headers: { authorization: `Bearer ${as.accessToken}` } })
      assert.equal(res.status, 200)
      return (await res.json() as { items: { id: string, sha256: string, source: string, name: string, size: number }[] }).items
    }

    const create = (as: Actor, size: number, name = 'part.mp3', headers: Record<string, string> = {}) =>
      tus(as, 'POST', '/api/v1/uploads', { 'upload-length': String(size), 'upload-metadata': metadataHeader({ filename: name }), ...headers })
    const send = (as: Actor, url: string, offset: number, bytes: Buffer) =>
      tus(as, 'PATCH', url, { 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' }, bytes)
    const reservations = async (as: Actor) =>
      (await t.testDb.db.kysely.selectFrom('resumable_uploads').selectAll().where('owner_id', '=', as.user.id).orderBy('created_at').execute())
        .map((r) => ({ id: r.id, size: Number(r.declared_size) }))
    const idOf = (res: Response) => path.basename(String(res.headers.get('location')))
    const createdOrThrow = async (res: Response) => {
      assert.equal(res.status, 201, await res.text())
      return String(res.headers.get('location'))
    }

    before(async () => {
      // Free users get a 2 MB quota (two 1 MB files) and the default 5 open uploads.
      const logger = { ...(loggerOptions(testConfig()) as Record<string, unknown>), level: 'error', stream: log.stream }
      t = await startApp(backend.name, { MAX_FILE_SIZE_MB: '1', QUOTA_MB_FREE: '2', CORS_ORIGINS: ALLOWED_ORIGIN }, logger)
      await t.app.listen({ port: 0, host: '127.0.0.1' })
      base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
      filesRoot = path.join(t.config.dataDir, 'files')
      alice = await actor()
      bob = await actor()
    })
    after(() => t?.close())

    it('uploads a file from a stream in several PATCHes and answers with the file record', async () => {
      const bytes = readFixture('wav')
      let chunks = 0
      const { finished, error } = await runUpload(fs.createReadStream(fixture('wav')), tusOptions(base, alice, {
        uploadSize: bytes.length,
        metadata: { filename: 'stream.wav' },
        onChunkComplete: () => { chunks++ }
      }))
      assert.equal(error, undefined, String(error))
      assert.ok(finished)
      assert.ok(chunks >= Math.ceil(bytes.length / CHUNK), `${chunks} chunks`)
      assert.equal(finished.status, 200)
      assert.match(String(finished.fileId), UUID)
      const file = JSON.parse(finished.body) as { id: string, sha256: string, source: string, name: string, size: number, format: string, durationSec: number }
      assert.equal(file.id, finished.fileId)
      assert.equal(file.sha256, sha256Of(bytes))
      assert.equal(file.size, bytes.length)
      assert.equal(file.source, 'resumable')
      assert.equal(file.format, 'wav')
      assert.ok(Math.abs(file.durationSec - 3) < 0.1)

      const listed = (await listFiles(alice)).find((f) => f.id === file.id)
      assert.ok(listed, 'the finished upload is listed with the other files')
      assert.equal(listed.source, 'resumable')
      assert.equal(listed.sha256, sha256Of(bytes))
      assert.equal(listed.name, 'stream.wav')
      const stored = path.join(filesRoot, 'objects', file.id.slice(0, 2), file.id)
      assert.deepEqual(fs.readFileSync(stored), bytes)
      assert.equal(fs.statSync(stored).mode & 0o777, 0o600)
      assert.equal(fs.statSync(path.join(filesRoot, 'resumable')).mode & 0o777, 0o700)
      // tus's data and metadata files are gone once the upload has become a file.
      assert.deepEqual(workFiles().resumable, [])
      assert.deepEqual(workFiles().staging, [])
    })

    it('accepts the whole file sent in the creating POST (creation-with-upload) and answers with the file record', async () => {
      const bytes = readFixture('wav')
      // tus's POST handler reads the upload again after the finish hook (for Upload-Expires):
      // that read must find the finished upload, not answer 404.
      const { finished, error } = await runUpload(bytes, tusOptions(base, alice, {
        uploadSize: bytes.length,
        chunkSize: bytes.length,
        uploadDataDuringCreation: true,
        metadata: { filename: 'at-once.wav' }
      }))
      assert.equal(error, undefined, String(error))
      assert.ok(finished)
      assert.equal(finished.status, 201)
      const file = JSON.parse(finished.body) as { id: string, sha256: string, size: number, source: string }
      assert.equal(file.id, finished.fileId)
      assert.equal(file.sha256, sha256Of(bytes))
      assert.equal(file.size, bytes.length)
      assert.equal(file.source, 'resumable')
      assert.ok((await listFiles(alice)).some((f) => f.id === file.id))
      assert.deepEqual(workFiles().resumable, [])
      assert.deepEqual(workFiles().staging, [])
    })

    it('resumes an interrupted upload at the offset the server holds', async () => {
      const bytes = readFixture('speech')
      let uploadUrl = ''
      let sent = 0
      const interrupted = await new Promise<Upload>((resolve, reject) => {
        const upload: Upload = new Upload(bytes, tusOptions(base, alice, {
          metadata: { filename: 'resumed.wav' },
          onChunkComplete: (_size, accepted) => {
            sent = accepted
            if (accepted >= 2 * CHUNK) {
              uploadUrl = upload.url ?? ''
              upload.abort().then(() => resolve(upload), reject)
            }
          },
          onSuccess: () => reject(new Error('the upload should have been interrupted')),
          onError: reject
        }))
        upload.start()
      })
      assert.ok(interrupted.url)
      assert.ok(sent > 0 && sent < bytes.length)

      const head = await tus(alice, 'HEAD', uploadUrl)
      assert.equal(head.status, 200)
      assert.equal(Number(head.headers.get('upload-offset')), sent)
      assert.equal(Number(head.headers.get('upload-length')), bytes.length)
      assert.equal((await listFiles(alice)).filter((f) => f.name === 'resumed.wav').length, 0, 'no file before the upload is complete')

      let firstAccepted = -1
      const { finished, error } = await runUpload(bytes, tusOptions(base, alice, {
        uploadUrl,
        metadata: { filename: 'resumed.wav' },
        onChunkComplete: (size, accepted) => { if (firstAccepted < 0) firstAccepted = accepted - size }
      }))
      assert.equal(error, undefined, String(error))
      assert.ok(finished)
      assert.equal(firstAccepted, sent, 'the second run starts where the first stopped')
      const file = JSON.parse(finished.body) as { id: string, sha256: string }
      assert.equal(file.sha256, sha256Of(bytes))
      assert.ok((await listFiles(alice)).some((f) => f.id === file.id && f.source === 'resumable'))
    })

    it('refuses FLAC bytes named .wav at completion with 415 and leaves nothing behind', async () => {
      const before = workFiles()
      const rowsBefore = await t.testDb.db.kysely.selectFrom('files').select('id').execute()
      const { error } = await runUpload(readFixture('flacBytes'), tusOptions(base, alice, { metadata: { filename: 'disguised.wav' } }))
      assert.equal(statusOf(error), 415, String(error))
      assert.match(String((error as DetailedError).originalResponse?.getBody()), /FLAC, not WAV/)
      assert.deepEqual(workFiles(), { ...before, resumable: [], staging: [] })
      assert.equal((await t.testDb.db.kysely.selectFrom('files').select('id').execute()).length, rowsBefore.length)
    })

    it('refuses a name with a disallowed extension at creation (415)', async () => {
      const res = await tus(alice, 'POST', '/api/v1/uploads', { 'upload-length': '1000', 'upload-metadata': metadataHeader({ filename: 'run.sh' }) })
      assert.equal(res.status, 415)
      assert.match(await res.text(), /not allowed/)
      assert.equal(res.headers.get('location'), null)
      assert.deepEqual(workFiles().resumable, [])
    })

    it('refuses at creation an upload declared larger than MAX_FILE_SIZE_MB (413, the multipart problem)', async () => {
      const res = await tus(alice, 'POST', '/api/v1/uploads', { 'upload-length': String(2 * MB), 'upload-metadata': metadataHeader({ filename: 'big.wav' }) })
      assert.equal((await problemOf(res, 413)).detail, 'The file exceeds the 1 MB limit')
      assert.equal(res.headers.get('location'), null)
      assert.deepEqual(workFiles().resumable, [])
    })

    it("answers 404 to another user's HEAD, PATCH and DELETE on an upload URL", async () => {
      const bytes = readFixture('ogg')
      const created = await tus(alice, 'POST', '/api/v1/uploads', { 'upload-length': String(bytes.length), 'upload-metadata': metadataHeader({ filename: 'private.ogg' }) })
      assert.equal(created.status, 201)
      const url = String(created.headers.get('location'))
      const first = await tus(alice, 'PATCH', url, { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, bytes.subarray(0, 1000))
      assert.equal(first.status, 204)

      assert.equal((await tus(bob, 'HEAD', url)).status, 404)
      const patch = await tus(bob, 'PATCH', url, { 'upload-offset': '1000', 'content-type': 'application/offset+octet-stream' }, bytes.subarray(1000))
      assert.equal(patch.status, 404)
      assert.equal((await tus(bob, 'DELETE', url)).status, 404)

      const head = await tus(alice, 'HEAD', url)
      assert.equal(head.status, 200)
      assert.equal(head.headers.get('upload-offset'), '1000', "bob's PATCH wrote nothing")
      assert.equal((await tus(alice, 'DELETE', url)).status, 204)
      assert.equal((await tus(alice, 'HEAD', url)).status, 404)
    })

    it('requires credentials (401) on every method', async () => {
      const created = await tus(alice, 'POST', '/api/v1/uploads', { 'upload-length': '100', 'upload-metadata': metadataHeader({ filename: 'a.mp3' }) })
      const url = String(created.headers.get('location'))
      assert.equal((await tus(undefined, 'POST', '/api/v1/uploads', { 'upload-length': '100', 'upload-metadata': metadataHeader({ filename: 'a.mp3' }) })).status, 401)
      assert.equal((await tus(undefined, 'HEAD', url)).status, 401)
      assert.equal((await tus(undefined, 'PATCH', url, { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, Buffer.alloc(100))).status, 401)
      assert.equal((await tus(undefined, 'DELETE', url)).status, 401)
      const { error } = await runUpload(readFixture('ogg'), tusOptions(base, { user: alice.user, accessToken: 'not-a-token' }, { metadata: { filename: 'x.ogg' } }))
      assert.equal(statusOf(error), 401)
      await tus(alice, 'DELETE', url)
    })

    it('never answers Access-Control-Allow-Origin: *', async () => {
      const create = (origin: string) => tus(alice, 'POST', '/api/v1/uploads', {
        origin,
        'upload-length': '100',
        'upload-metadata': metadataHeader({ filename: 'cors.mp3' })
      })
      const foreign = await create('https://evil.example')
      assert.equal(foreign.status, 201)
      assert.notEqual(foreign.headers.get('access-control-allow-origin'), '*')
      assert.equal(foreign.headers.get('access-control-allow-origin'), null)
      const head = await tus(alice, 'HEAD', String(foreign.headers.get('location')), { origin: 'https://evil.example' })
      assert.notEqual(head.headers.get('access-control-allow-origin'), '*')
      const options = await fetch(`${base}/api/v1/uploads`, { method: 'OPTIONS', headers: { origin: 'https://evil.example' } })
      assert.notEqual(options.headers.get('access-control-allow-origin'), '*')
      // A configured origin is echoed, never widened.
      const own = await create(ALLOWED_ORIGIN)
      assert.equal(own.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN)
      for (const res of [foreign, own]) await tus(alice, 'DELETE', String(res.headers.get('location')))
    })
    describe('open uploads count in the quota', () => {
      it('reserves the Upload-Length at creation: one that would pass the quota gets the multipart 413 text, nothing is created', async () => {
        const carol = await actor('free')
        const NINE_TENTHS = Math.round(0.9 * MB)
        const first = await create(carol, NINE_TENTHS)
        const second = await create(carol, NINE_TENTHS)
        await createdOrThrow(first)
        await createdOrThrow(second)
        const before = workFiles().resumable

        const third = await create(carol, NINE_TENTHS)
        const problem = await problemOf(third, 413)
        assert.equal(problem.detail, 'Storage quota exceeded: 0.2 MB of your quota remain')
        assert.equal(problem.remainingBytes, 2 * MB - 2 * NINE_TENTHS)
        assert.equal(third.headers.get('location'), null)
        assert.deepEqual(workFiles().resumable, before, 'no tus file for the refused creation')
        assert.deepEqual((await reservations(carol)).map((r) => r.id).sort(), [idOf(first), idOf(second)].sort())

        // A multipart upload sees the same reservations.
        const form = new FormData()
        form.append('file', new Blob([new Uint8Array(readFixture('wav'))]), 'multipart.wav')
        const multipart = await fetch(`${base}/api/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${carol.accessToken}` }, body: form })
        assert.equal((await problemOf(multipart, 413)).detail, problem.detail)
        // A tus client reads the same problem from the refused creation.
        const { error } = await runUpload(readFixture('wav'), tusOptions(base, carol, { metadata: { filename: 'late.wav' } }))
        assert.equal(statusOf(error), 413)
        assert.equal((JSON.parse(String((error as DetailedError).originalResponse?.getBody())) as Problem).detail, problem.detail)
      })

      it('refuses concurrent creations that would together pass the quota (owner row lock)', async () => {
        const dave = await actor('free')
        const answers = await Promise.all(Array.from({ length: 5 }, () => create(dave, Math.round(0.8 * MB))))
        const statuses = answers.map((r) => r.status).sort()
        assert.deepEqual(statuses, [201, 201, 413, 413, 413])
        assert.equal((await reservations(dave)).length, 2)
        for (const res of answers) await res.body?.cancel()
      })

      it('refuses Upload-Defer-Length (a size that cannot be reserved) with a problem', async () => {
        const erin = await actor('free')
        const res = await tus(erin, 'POST', '/api/v1/uploads', { 'upload-defer-length': '1', 'upload-metadata': metadataHeader({ filename: 'deferred.mp3' }) })
        assert.match((await problemOf(res, 400)).detail, /Upload-Length is required/)
        assert.deepEqual(await reservations(erin), [])
      })

      it('caps open uploads per tier with 429 naming the limit; termination frees a place', async () => {
        const frank = await actor('free')
        const urls: string[] = []
        for (let i = 0; i < 5; i++) urls.push(await createdOrThrow(await create(frank, 100)))
        const before = workFiles().resumable

        const sixth = await create(frank, 100)
        const problem = await problemOf(sixth, 429)
        assert.match(problem.detail, /You have 5 open resumable uploads, the limit of the free tier/)
        assert.equal(problem.limit, 5)
        assert.equal(sixth.headers.get('location'), null)
        assert.deepEqual(workFiles().resumable, before)
        assert.equal((await reservations(frank)).length, 5)

        // tus-js-client shows the refusal at once (a 429 is not retried like a 409).
        const { error } = await runUpload(readFixture('ogg'), tusOptions(base, frank, { metadata: { filename: 'x.ogg' }, retryDelays: [0, 10] }))
        assert.equal(statusOf(error), 429)

        assert.equal((await tus(frank, 'DELETE', String(urls[0]))).status, 204)
        assert.equal((await reservations(frank)).length, 4)
        await createdOrThrow(await create(frank, 100))
      })

      it('sweeps an upload idle for RESUMABLE_IDLE_MINUTES: bytes, metadata and reservation, and the quota is free again', async () => {
        const gina = await actor('free')
        const active = await createdOrThrow(await create(gina, MB))
        assert.equal((await send(gina, active, 0, Buffer.alloc(4096))).status, 204)
        const untouched = await createdOrThrow(await create(gina, MB))
        await problemOf(await create(gina, 1000), 413)
        const ids = [path.basename(active), path.basename(untouched)]
        const tusFiles = () => workFiles().resumable.filter((f) => ids.some((id) => path.basename(f).startsWith(id)))
        assert.equal(tusFiles().length, 4, 'data and metadata of both uploads')

        // Within the idle limit nothing goes; past it, both do (the absolute expiry is 24 h).
        await t.app.container.retention.sweep(new Date(Date.now() + 30 * 60_000))
        assert.equal((await reservations(gina)).length, 2)
        const report = await t.app.container.retention.sweep(new Date(Date.now() + 61 * 60_000))
        assert.ok(report.expiredResumable >= 2, JSON.stringify(report))
        assert.deepEqual(await reservations(gina), [])
        assert.deepEqual(tusFiles(), [])
        assert.equal((await tus(gina, 'HEAD', active)).status, 404)
        assert.equal((await send(gina, active, 4096, Buffer.alloc(10))).status, 404)
        await createdOrThrow(await create(gina, MB))
      })

      it('finishing moves the reservation into the file: counted once, never free in between', async () => {
        const hank = await actor('free')
        const bytes = readFixture('mp3')
        // Fill the quota exactly: two fillers and this upload.
        await createdOrThrow(await create(hank, MB))
        await createdOrThrow(await create(hank, MB - bytes.length))
        const { finished, error } = await runUpload(bytes, tusOptions(base, hank, { metadata: { filename: 'exact.mp3' } }))
        assert.equal(error, undefined, String(error))
        assert.ok(finished)
        assert.equal(finished.status, 200, finished.body)
        const file = JSON.parse(finished.body) as { id: string, size: number }
        assert.equal(file.size, bytes.length)
        assert.deepEqual((await reservations(hank)).map((r) => r.size).sort(), [MB - bytes.length, MB].sort())
        // Quota exactly full: the file and the two fillers.
        assert.equal((await problemOf(await create(hank, 1), 413)).remainingBytes, 0)
      })

      it('a refusal at completion ends the reservation too', async () => {
        const ivan = await actor('free')
        const { error } = await runUpload(readFixture('flacBytes'), tusOptions(base, ivan, { metadata: { filename: 'disguised.wav' } }))
        assert.equal(statusOf(error), 415)
        assert.deepEqual(await reservations(ivan), [])
      })
    })

    it("answers tus's own refusals as problem+json", async () => {
      const res = await fetch(`${base}/api/v1/uploads`, { method: 'POST', headers: { authorization: `Bearer ${alice.accessToken}`, 'upload-length': '10' } })
      assert.match((await problemOf(res, 412)).detail, /Tus-Resumable Required/)
      const url = await createdOrThrow(await create(alice, 100))
      const conflict = await send(alice, url, 50, Buffer.alloc(10))
      assert.equal((await problemOf(conflict, 409)).title, 'Conflict')
      await tus(alice, 'DELETE', url)
    })

    it('answers an unexpected failure with a fixed text; the message (paths, SQL) goes only to the log', async () => {
      const jane = await actor('free')
      const files = t.app.container.files
      const accept = files.accept
      const secret = 'insert into "files" failed: ENOSPC writing /var/lib/tympan/files/staging/0f3c'
      files.accept = async () => { throw new Error(secret) }
      try {
        const bytes = readFixture('ogg')
        const url = await createdOrThrow(await create(jane, bytes.length, 'broken.ogg'))
        const res = await send(jane, url, 0, bytes)
        const text = await res.clone().text()
        const problem = await problemOf(res, 500)
        assert.equal(problem.detail, 'An unexpected error occurred. Quote the request id when reporting it.')
        assert.doesNotMatch(text, /insert into|\/var\/lib|ENOSPC/)
        const logged = log.lines.map((line) => JSON.parse(line) as { reqId?: string, err?: { message?: string } })
          .find((entry) => entry.err?.message === secret)
        assert.ok(logged, 'the failure is logged with its message')
        assert.equal(logged.reqId, problem.requestId)
        assert.deepEqual(await reservations(jane), [])
      } finally {
        files.accept = accept
      }
    })

    it('answers a dependency outage 503 or 507 with its Retry-After, like every other endpoint', async () => {
      const kim = await actor('free')
      const files = t.app.container.files
      const accept = files.accept
      const outages = [
        { error: () => Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED', unavailable: { what: 'database', retryAfterSec: 5 } }), status: 503, retryAfter: '5' },
        { error: () => storageFailure('full', Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })), status: 507, retryAfter: '60' }
      ]
      try {
        for (const outage of outages) {
          files.accept = async () => { throw outage.error() }
          const bytes = readFixture('ogg')
          const url = await createdOrThrow(await create(kim, bytes.length, 'outage.ogg'))
          const res = await send(kim, url, 0, bytes)
          await problemOf(res, outage.status)
          assert.equal(res.headers.get('retry-after'), outage.retryAfter)
        }
      } finally {
        files.accept = accept
      }
      // An error answer that has no Retry-After of its own gets none.
      const conflict = await send(kim, await createdOrThrow(await create(kim, 100)), 50, Buffer.alloc(10))
      await problemOf(conflict, 409)
      assert.equal(conflict.headers.get('retry-after'), null)
    })

    it('GDPR: export lists open uploads, erase removes their bytes, metadata and reservation', async () => {
      const kate = await actor('free')
      const url = await createdOrThrow(await create(kate, 5000, 'open.mp3'))
      assert.equal((await send(kate, url, 0, Buffer.alloc(1000))).status, 204)
      const id = path.basename(url)

      const exported = await t.app.container.users.exportData(kate.user.id) as unknown as { resumableUploads: Record<string, unknown>[] }
      assert.equal(exported.resumableUploads.length, 1)
      assert.deepEqual({ ...exported.resumableUploads[0], createdAt: undefined, lastActivityAt: undefined },
        { id, name: 'open.mp3', declaredSize: 5000, receivedBytes: 1000, createdAt: undefined, lastActivityAt: undefined })

      assert.ok(workFiles().resumable.some((f) => path.basename(f).startsWith(id)))
      await t.app.container.users.erase(kate.user.id)
      assert.deepEqual(workFiles().resumable.filter((f) => path.basename(f).startsWith(id)), [])
      assert.deepEqual(await t.testDb.db.kysely.selectFrom('resumable_uploads').select('id').where('id', '=', id).execute(), [])
    })
  })
}
