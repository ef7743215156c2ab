import assert from 'node:assert/strict'
import fs from 'node:fs'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DetailedError, Upload, type HttpResponse, type UploadOptions } from 'tus-js-client'
import type { User } from '../src/db/schema.ts'
import { backends } from './helpers/db.ts'
import { PASSWORD, startApp, type TestApp } from './helpers/app.ts'
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

for (const backend of await backends()) {
  describe(`resumable uploads, tus 1.0 (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    let base: string
    let alice: Actor
    let bob: Actor
    let filesRoot: string

    const actor = async (): Promise<Actor> => {
      const user = await t.createUser('member', { tier: 'premium' })
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

    before(async () => {
      t = await startApp(backend.name, { MAX_FILE_SIZE_MB: '1', CORS_ORIGINS: ALLOWED_ORIGIN })
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

    it('refuses at creation an upload declared larger than MAX_FILE_SIZE_MB (413)', async () => {
      const res = await tus(alice, 'POST', '/api/v1/uploads', { 'upload-length': String(2 * MB), 'upload-metadata': metadataHeader({ filename: 'big.wav' }) })
      assert.equal(res.status, 413)
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
  })
}
