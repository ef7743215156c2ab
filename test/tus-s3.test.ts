import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.ts'
import type { Tier, User } from '../src/db/schema.ts'
import { PASSWORD, startApp, type TestApp } from './helpers/app.ts'
import { readFixture, sha256Of, wavHeader } from './helpers/audio.ts'
import { backends } from './helpers/db.ts'
import { startS3, type S3Service } from './helpers/services.ts'

const MB = 1024 * 1024

interface Actor {
  user: User
  accessToken: string
}

function filesUnder (dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name))
}

const metadataHeader = (name: string) => `filename ${Buffer.from(name).toString('base64')}`

/** A WAV of `dataBytes` of noise: any bytes are valid 16-bit PCM, and the hash tells them apart. */
const noiseWav = (dataBytes: number) => Buffer.concat([wavHeader(dataBytes), randomBytes(dataBytes)])

for (const backend of await backends()) {
  describe(`tus on S3: any API node takes any request of an upload (${backend.name})`, { skip: backend.skip }, () => {
    let s3: S3Service
    let client: S3Client
    let prefix: string
    let a: TestApp
    let b: FastifyInstance
    let bDataDir: string
    let infoReads = 0
    const base: Record<'a' | 'b', string> = { a: '', b: '' }

    const listen = async (app: FastifyInstance) => {
      await app.listen({ port: 0, host: '127.0.0.1' })
      return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    }
    const actor = async (tier: Tier = 'premium'): Promise<Actor> => {
      const user = await a.createUser('member', { tier })
      const res = await a.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: PASSWORD, tokens: true } })
      assert.equal(res.statusCode, 200, res.body)
      return { user, accessToken: res.json().accessToken }
    }
    const tus = (node: 'a' | 'b', as: Actor, method: string, url: string, headers: Record<string, string> = {}, body?: Buffer) =>
      fetch(new URL(url, base[node]), {
        method,
        headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${as.accessToken}`, ...headers },
        ...(body ? { body: new Uint8Array(body) } : {})
      })
    const create = async (node: 'a' | 'b', as: Actor, size: number, name: string) => {
      const res = await tus(node, as, 'POST', '/api/v1/uploads', { 'upload-length': String(size), 'upload-metadata': metadataHeader(name) })
      assert.equal(res.status, 201, await res.text())
      return new URL(String(res.headers.get('location')), base[node]).pathname
    }
    const send = (node: 'a' | 'b', as: Actor, url: string, offset: number, bytes: Buffer) =>
      tus(node, as, 'PATCH', url, { 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' }, bytes)
    const offsetOn = async (node: 'a' | 'b', as: Actor, url: string) => {
      const head = await tus(node, as, 'HEAD', url)
      assert.equal(head.status, 200)
      return Number(head.headers.get('upload-offset'))
    }
    const keysUnder = async (area: string) =>
      ((await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/${area}/` }))).Contents ?? []).map((object) => object.Key!).sort()
    /** Multipart uploads still open in s3rver (its layout: `<bucket>/._S3rver_uploads/<uploadId>/`). */
    const openMultiparts = () => {
      const dir = path.join(s3.directory, s3.bucket, '._S3rver_uploads')
      return fs.existsSync(dir) ? fs.readdirSync(dir) : []
    }
    const reservations = async (as: Actor) =>
      (await a.testDb.db.kysely.selectFrom('resumable_uploads').select('id').where('owner_id', '=', as.user.id).execute()).map((row) => row.id)
    const workspaces = () => [...filesUnder(path.join(a.config.dataDir, 'files')), ...filesUnder(path.join(bDataDir, 'files'))]
    const assertNothingLeft = async (as: Actor, what: string) => {
      assert.deepEqual(await keysUnder('resumable'), [], `${what}: no tus object in the bucket`)
      assert.deepEqual(openMultiparts(), [], `${what}: no multipart upload open`)
      assert.deepEqual(await reservations(as), [], `${what}: no reservation`)
      assert.deepEqual(workspaces(), [], `${what}: nothing in either node's workspace`)
    }

    before(async () => {
      prefix = `tus-${backend.name}`
      s3 = await startS3(prefix, { onRequest: ({ method, path }) => { if (method === 'GET' && path.endsWith('.info')) infoReads++ } })
      for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) process.env[name] = s3.env[name]
      client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' })
      // Free users: 2 MB of quota and the default 5 open uploads.
      a = await startApp(backend.name, { ...s3.env, WORKER_CONCURRENCY: '0', MAX_FILE_SIZE_MB: '64', QUOTA_MB_FREE: '2' })
      // Node B: the same database, bucket and secrets, a workspace of its own.
      bDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-node-b-'))
      b = await buildApp({ config: { ...a.config, dataDir: bDataDir }, db: a.testDb.db })
      base.a = await listen(a.app)
      base.b = await listen(b)
    })
    after(async () => {
      await b.close()
      await a.close()
      fs.rmSync(bDataDir, { recursive: true, force: true })
      await s3.close()
    })

    it('takes an upload created on node A and continued on node B: completed, checked, stored once, downloadable from both', async () => {
      const alice = await actor()
      // Past one 8 MiB part: a real multipart part, then a short remainder kept as `.part`.
      const bytes = noiseWav(10 * MB)
      const url = await create('a', alice, bytes.length, 'long.wav')
      const first = 9 * MB
      assert.equal((await send('a', alice, url, 0, bytes.subarray(0, first))).status, 204)
      assert.ok((await keysUnder('resumable')).length > 0, 'the upload\'s state is in the bucket')
      assert.equal(await offsetOn('b', alice, url), first, 'node B sees what node A received')

      const done = await send('b', alice, url, first, bytes.subarray(first))
      const body = await done.text()
      assert.equal(done.status, 200, body)
      const file = JSON.parse(body) as { id: string, sha256: string, size: number }
      assert.equal(file.sha256, sha256Of(bytes))
      assert.equal(file.size, bytes.length)
      for (const node of ['a', 'b'] as const) {
        const content = await fetch(`${base[node]}/api/v1/files/${file.id}/content`, { headers: { authorization: `Bearer ${alice.accessToken}` } })
        assert.equal(content.status, 200)
        assert.equal(sha256Of(Buffer.from(await content.arrayBuffer())), file.sha256, `downloaded from node ${node}`)
      }
      assert.deepEqual(await keysUnder('objects'), [`${prefix}/objects/${file.id}`])
      assert.equal((await tus('a', alice, 'HEAD', url)).status, 404, 'a finished upload is gone, on either node')
      assert.equal((await tus('b', alice, 'HEAD', url)).status, 404)
      await assertNothingLeft(alice, 'after completion')
    })

    it('accepts the whole file in the creating POST (creation-with-upload): 201 with the file, nothing left', async () => {
      const gina = await actor()
      const bytes = readFixture('wav')
      const res = await tus('b', gina, 'POST', '/api/v1/uploads', {
        'upload-length': String(bytes.length),
        'upload-metadata': metadataHeader('at-once.wav'),
        'content-type': 'application/offset+octet-stream'
      }, bytes)
      const body = await res.text()
      assert.equal(res.status, 201, body)
      assert.ok(res.headers.get('location'))
      const file = JSON.parse(body) as { id: string, sha256: string }
      assert.equal(file.sha256, sha256Of(bytes))
      assert.equal(res.headers.get('tympan-file-id'), file.id)
      await assertNothingLeft(gina, 'after a creation-with-upload')
    })

    it('resumes on node B after a PATCH to node A was cut off mid-body', async () => {
      const bob = await actor()
      const bytes = readFixture('speech')
      const url = await create('a', bob, bytes.length, 'speech.wav')
      const cut = Math.floor(bytes.length / 2)
      // A client that sends half its body and goes away.
      const request = http.request(new URL(url, base.a), {
        method: 'PATCH',
        headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${bob.accessToken}`, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', 'content-length': String(bytes.length) }
      })
      request.on('error', () => {})
      await new Promise<void>((resolve) => request.write(bytes.subarray(0, cut), () => resolve()))
      request.destroy()
      // tus keeps what reached the server; it is in the bucket once the offset moves.
      let offset = 0
      for (let tries = 0; offset === 0 && tries < 200; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        offset = await offsetOn('b', bob, url)
      }
      assert.ok(offset > 0 && offset <= cut, `resumable at ${offset}`)

      const done = await send('b', bob, url, offset, bytes.subarray(offset))
      const body = await done.text()
      assert.equal(done.status, 200, body)
      assert.equal((JSON.parse(body) as { sha256: string }).sha256, sha256Of(bytes))
      await assertNothingLeft(bob, 'after the resumed upload')
    })

    it("reads an upload's .info once per request (HEAD, PATCH, DELETE)", async () => {
      const hana = await actor()
      const url = await create('a', hana, 4096, 'counted.wav')
      const counted = async (request: () => Promise<Response>, status: number) => {
        infoReads = 0
        const res = await request()
        assert.equal(res.status, status, await res.text())
        return infoReads
      }
      assert.equal(await counted(() => tus('b', hana, 'HEAD', url), 200), 1, 'HEAD')
      assert.equal(await counted(() => send('b', hana, url, 0, Buffer.alloc(1000)), 204), 1, 'PATCH')
      assert.equal(await counted(() => tus('a', hana, 'DELETE', url), 204), 1, 'DELETE')
      await assertNothingLeft(hana, 'after termination')
    })

    it('terminates on node B an upload begun on node A: nothing of it stays', async () => {
      const carol = await actor()
      const bytes = noiseWav(9 * MB)
      const url = await create('a', carol, bytes.length + MB, 'stopped.wav')
      assert.equal((await send('a', carol, url, 0, bytes)).status, 204)
      assert.equal((await tus('b', carol, 'DELETE', url)).status, 204)
      assert.equal((await tus('a', carol, 'HEAD', url)).status, 404)
      await assertNothingLeft(carol, 'after termination')
    })

    it('reserves the quota and caps open uploads across nodes; refused creations leave nothing in the bucket', async () => {
      const dave = await actor('free')
      const onA = await create('a', dave, Math.round(0.9 * MB), 'one.wav')
      await create('b', dave, Math.round(0.9 * MB), 'two.wav')
      const keys = await keysUnder('resumable')
      const over = await tus('b', dave, 'POST', '/api/v1/uploads', { 'upload-length': String(Math.round(0.9 * MB)), 'upload-metadata': metadataHeader('three.wav') })
      assert.equal(over.status, 413, await over.text())
      assert.deepEqual(await keysUnder('resumable'), keys, 'no tus object for the refused creation')

      for (let i = 0; i < 3; i++) await create(i % 2 ? 'a' : 'b', dave, 100, `small-${i}.wav`)
      const sixth = await tus('a', dave, 'POST', '/api/v1/uploads', { 'upload-length': '100', 'upload-metadata': metadataHeader('sixth.wav') })
      assert.equal(sixth.status, 429, await sixth.text())
      assert.equal((await reservations(dave)).length, 5)
      assert.equal((await tus('b', dave, 'DELETE', onA)).status, 204)
      assert.equal((await reservations(dave)).length, 4)
      await a.app.container.users.erase(dave.user.id)
      await assertNothingLeft(dave, 'after the owner is erased')
    })

    it('refuses a corrupt completed upload with nothing left in the bucket', async () => {
      const erin = await actor()
      const objects = await keysUnder('objects')
      const bytes = Buffer.concat([readFixture('mp3').subarray(0, 4096), randomBytes(64 * 1024)])
      const url = await create('a', erin, bytes.length, 'broken.mp3')
      const done = await send('b', erin, url, 0, bytes)
      const body = await done.text()
      assert.ok(done.status === 415 || done.status === 422, `${done.status} ${body}`)
      assert.match(String(done.headers.get('content-type')), /^application\/problem\+json/)
      assert.deepEqual(await keysUnder('objects'), objects, 'no object')
      await assertNothingLeft(erin, 'after the refusal')
    })

    it('sweeps idle uploads and, through S3Store\'s expiry, uploads no reservation accounts for', async () => {
      const frank = await actor()
      const idle = await create('a', frank, 4096, 'idle.wav')
      assert.equal((await send('b', frank, idle, 0, Buffer.alloc(1000))).status, 204)
      const orphan = path.basename(await create('b', frank, 4096, 'orphan.wav'))
      // A node that died between creating the upload and reserving it leaves no row.
      await a.testDb.db.kysely.deleteFrom('resumable_uploads').where('id', '=', orphan).execute()
      assert.ok((await keysUnder('resumable')).some((key) => key.endsWith(`${orphan}.info`)))

      // An hour idle takes the first; the orphan goes once its multipart upload is past the expiry.
      await a.app.container.retention.sweep(new Date(Date.now() + 61 * 60_000))
      assert.equal((await tus('a', frank, 'HEAD', idle)).status, 404)
      assert.ok((await keysUnder('resumable')).some((key) => key.endsWith(`${orphan}.info`)), 'within its expiry the orphan stays')
      const past = new Date(Date.now() - a.config.intake.resumableExpiryMs - 60_000)
      for (const uploadId of openMultiparts()) fs.utimesSync(path.join(s3.directory, s3.bucket, '._S3rver_uploads', uploadId, 'key'), past, past)
      await b.container.retention.sweep(new Date())
      await assertNothingLeft(frank, 'after the sweeps')
    })
  })
}
