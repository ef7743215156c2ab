import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { text } from 'node:stream/consumers'
import { after, before, describe, it } from 'node:test'
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { parseEnv } from '../src/config/config.ts'
import { storageKeyId } from '../src/config/storage-encryption.ts'
import { openDatabase } from '../src/db/database.ts'
import { migrate } from '../src/db/migrator.ts'
import { fileStoresFor } from '../src/storage/file-stores.ts'
import { localStorage } from '../src/storage/local-storage.ts'
import { startApp, type TestApp } from './helpers/app.ts'
import { readFixture } from './helpers/audio.ts'
import { runTympan } from './helpers/cli.ts'
import { backends } from './helpers/db.ts'
import { createJob, keyHeaders, waitForJob } from './helpers/jobs.ts'
import { startS3, type S3Service } from './helpers/services.ts'

const SCOPES = ['files:read', 'files:write', 'jobs:read', 'jobs:write']
const CHUNK = 64 * 1024
const newKey = () => randomBytes(32).toString('base64')
const idOf = (key: string) => storageKeyId(Buffer.from(key, 'base64'))

const upload = async (t: TestApp, key: string, name: string, bytes: Buffer): Promise<string> => {
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(bytes)]), name)
  const res = await t.app.inject({ method: 'POST', url: '/api/v1/files', headers: keyHeaders(key), payload: form })
  assert.equal(res.statusCode, 201, res.body)
  return res.json().id
}

const content = (t: TestApp, key: string, id: string, range?: string) =>
  t.app.inject({ method: 'GET', url: `/api/v1/files/${id}/content`, headers: { ...keyHeaders(key), ...(range ? { range } : {}) } })

/** Ranges that matter to a chunked format: across chunk boundaries, the first and last byte, one byte, one whole chunk. */
async function assertRanges (t: TestApp, key: string, id: string, bytes: Buffer) {
  for (const [range, start, end] of [
    [`bytes=${CHUNK - 100}-${2 * CHUNK + 99}`, CHUNK - 100, 2 * CHUNK + 99],
    ['bytes=0-0', 0, 0],
    ['bytes=-1', bytes.length - 1, bytes.length - 1],
    ['bytes=100000-100000', 100_000, 100_000],
    [`bytes=${CHUNK}-${2 * CHUNK - 1}`, CHUNK, 2 * CHUNK - 1],
    [`bytes=${3 * CHUNK + 5}-`, 3 * CHUNK + 5, bytes.length - 1]
  ] as const) {
    const res = await content(t, key, id, range)
    assert.equal(res.statusCode, 206, `${range}: ${res.body}`)
    assert.deepEqual(res.rawPayload, bytes.subarray(start, end + 1), range)
  }
}

for (const backend of await backends()) {
  describe(`encryption at rest, end to end on local disk (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    let key: string
    const wav = readFixture('wav')
    const objectFile = (id: string) => path.join(t.config.dataDir, 'files', 'objects', id.slice(0, 2), id)

    before(async () => {
      t = await startApp(backend.name, { STORAGE_ENCRYPTION_KEY: newKey(), WORKER_CONCURRENCY: '1' })
      key = await t.apiKey(await t.login((await t.createUser('member', { tier: 'premium' })).email), SCOPES)
    })
    after(() => t.close())

    it('stores an upload encrypted and serves it whole and by range', async () => {
      assert.ok(wav.length > 4 * CHUNK, 'the fixture spans several chunks')
      const id = await upload(t, key, 'tone.wav', wav)
      const stored = fs.readFileSync(objectFile(id))
      assert.equal(stored.includes(wav.subarray(44, 44 + 256)), false, 'no audio in the clear on disk')
      assert.equal(stored.includes(Buffer.from('RIFF')), false)
      const whole = await content(t, key, id)
      assert.equal(whole.statusCode, 200)
      assert.equal(Number(whole.headers['content-length']), wav.length)
      assert.deepEqual(whole.rawPayload, wav)
      await assertRanges(t, key, id, wav)
    })

    it('leaves no object, key row, staged or incoming file of a refused upload', async () => {
      const dir = (name: string) => path.join(t.config.dataDir, 'files', name)
      const entries = (name: string) => fs.existsSync(dir(name)) ? fs.readdirSync(dir(name), { recursive: true }).filter((entry) => fs.statSync(path.join(dir(name), String(entry))).isFile()).length : 0
      const state = async () => ({
        objects: entries('objects'),
        incoming: entries('incoming'),
        staging: entries('staging'),
        keyRows: (await t.testDb.db.kysely.selectFrom('object_keys').select('object_id').execute()).length
      })
      const before = await state()
      for (const [name, fixture, status] of [['flac.wav', 'flacBytes', 415], ['cut.wav', 'truncated', 422], ['noise.mp3', 'mp3Garbage', 422]] as const) {
        const form = new FormData()
        form.append('file', new Blob([new Uint8Array(readFixture(fixture))]), name)
        const res = await t.app.inject({ method: 'POST', url: '/api/v1/files', headers: keyHeaders(key), payload: form })
        assert.equal(res.statusCode, status, `${name}: ${res.body}`)
      }
      assert.deepEqual(await state(), before)
    })

    it('runs a job on an encrypted file and stores its artifacts encrypted', async () => {
      const fileId = await upload(t, key, 'job.wav', wav)
      const job = await waitForJob(t.app, key, (await createJob(t.app, key, { type: 'analyze', fileId })).id)
      assert.equal(job.status, 'succeeded', JSON.stringify(job))
      const png = await t.app.inject({ method: 'GET', url: `/api/v1/jobs/${job.id}/artifacts/waveform.png`, headers: keyHeaders(key) })
      assert.equal(png.statusCode, 200)
      assert.deepEqual(png.rawPayload.subarray(0, 8), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
      const artifact = await t.testDb.db.kysely.selectFrom('job_artifacts').select('object_id').where('job_id', '=', job.id).where('name', '=', 'waveform.png').executeTakeFirstOrThrow()
      assert.ok(await t.testDb.db.kysely.selectFrom('object_keys').select('object_id').where('object_id', '=', artifact.object_id).executeTakeFirst(), 'the artifact has its key row')
      assert.equal(fs.readFileSync(objectFile(artifact.object_id)).includes(Buffer.from('PNG')), false)
    })

    it('refuses to serve an object with one flipped bit: a storage problem, and no byte of audio', async () => {
      const id = await upload(t, key, 'flipped.wav', wav)
      const stored = fs.readFileSync(objectFile(id))
      stored[40]! ^= 0x80
      fs.writeFileSync(objectFile(id), stored)
      for (const range of [undefined, 'bytes=0-99']) {
        const res = await content(t, key, id, range)
        assert.equal(res.statusCode, 503, res.body)
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/)
        assert.doesNotMatch(res.body, /RIFF|chunk|tag|authentication/)
      }
      const later = await content(t, key, id, `bytes=${CHUNK}-${CHUNK + 99}`)
      assert.deepEqual(later.rawPayload, wav.subarray(CHUNK, CHUNK + 100), 'chunks that verify are still served')
    })

    it('refuses a truncated object', async () => {
      const id = await upload(t, key, 'cut.wav', wav)
      fs.truncateSync(objectFile(id), fs.statSync(objectFile(id)).size - 100)
      assert.equal((await content(t, key, id, 'bytes=-10')).statusCode, 503)
    })
  })

  describe(`encryption at rest over S3 (${backend.name})`, { skip: backend.skip }, () => {
    let s3: S3Service
    let t: TestApp
    let key: string
    const prefix = `enc-${backend.name}`
    before(async () => {
      s3 = await startS3(prefix)
      for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) process.env[name] = s3.env[name]
      t = await startApp(backend.name, { ...s3.env, STORAGE_ENCRYPTION_KEY: newKey() })
      key = await t.apiKey(await t.login((await t.createUser('member', { tier: 'premium' })).email), SCOPES)
    })
    after(async () => {
      await t.close()
      await s3.close()
    })

    it('keeps only ciphertext in the bucket and serves the file whole and by range', async () => {
      const wav = readFixture('wav')
      const id = await upload(t, key, 'tone.wav', wav)
      const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1' })
      const object = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/objects/${id}` }))
      const stored = Buffer.from(await object.Body!.transformToByteArray())
      assert.equal(stored.includes(wav.subarray(44, 44 + 256)), false)
      const whole = await content(t, key, id)
      assert.deepEqual(whole.rawPayload, wav)
      await assertRanges(t, key, id, wav)
    })
  })
}

describe('tympan admin rotate-storage-key on the embedded database', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-rotate-'))
  const dataDir = path.join(root, 'data')
  after(() => fs.rmSync(root, { recursive: true, force: true }))
  const env = (extra: Record<string, string>) => ({
    PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: process.env.HOME ?? os.tmpdir(),
    LANG: 'C.UTF-8',
    LOG_LEVEL: 'warn',
    ...extra
  })
  const tympan = (args: string[], extra: Record<string, string>, dir = dataDir) => runTympan(args, { env: env({ TYMPAN_DATA_DIR: dir, ...extra }), cwd: root, timeoutMs: 300_000 })
  const legacy = randomUUID()
  const [first, second] = [newKey(), newKey()]

  /** Reads object `id` of `dir` as the server would with `storageKey`. */
  async function readAs (dir: string, storageKey: string, id: string): Promise<string> {
    const db = await openDatabase({ databaseUrl: '', pgliteDir: path.join(dir, 'db') })
    try {
      return await text((await fileStoresFor(parseEnv({ TYMPAN_DATA_DIR: dir, STORAGE_ENCRYPTION_KEY: storageKey }), db)).storage.read(id))
    } finally {
      await db.close()
    }
  }

  before(async () => {
    // A deployment from before encryption: one file row and its plaintext object.
    const db = await openDatabase({ databaseUrl: '', pgliteDir: path.join(dataDir, 'db') })
    try {
      await migrate(db)
      const owner = (await db.kysely.insertInto('users').values({ email: 'owner@example.test', password_hash: null, role: 'member' }).returning('id').executeTakeFirstOrThrow()).id
      await db.kysely.insertInto('files').values({ id: legacy, owner_id: owner, name: 'old.wav', format: 'wav', content_type: 'audio/wav', size: 13, sha256: '0'.repeat(64), duration_sec: 1, sample_rate: 8000, channels: 1, codec: 'pcm_s16le', source: 'upload', source_url: null, expires_at: new Date(Date.now() + 86_400_000) }).execute()
    } finally {
      await db.close()
    }
    await localStorage(path.join(dataDir, 'files')).write(legacy, Readable.from([Buffer.from('old plaintext')]))
  })

  it('encrypts objects stored before encryption, then re-wraps them under a new key, which alone reads them', async () => {
    const encrypted = await tympan(['admin', 'rotate-storage-key'], { STORAGE_ENCRYPTION_KEY: first })
    assert.equal(encrypted.code, 0, encrypted.stderr)
    assert.match(encrypted.stdout, /Re-wrapped 0 object key\(s\) under key [0-9a-f]{16} \(no audio rewritten\) and encrypted 1 object\(s\) stored unencrypted\./)
    assert.equal(fs.readFileSync(path.join(dataDir, 'files', 'objects', legacy.slice(0, 2), legacy)).includes('old plaintext'), false)

    const rotated = await tympan(['admin', 'rotate-storage-key'], { STORAGE_ENCRYPTION_KEY: second, STORAGE_ENCRYPTION_PREVIOUS_KEYS: first })
    assert.equal(rotated.code, 0, rotated.stderr)
    assert.match(rotated.stdout, new RegExp(`Re-wrapped 1 object key\\(s\\) under key ${idOf(second)} .* encrypted 0 object`))
    assert.match(rotated.stdout, /remove STORAGE_ENCRYPTION_PREVIOUS_KEYS/)
    assert.ok(!`${rotated.stdout}${rotated.stderr}`.includes(second) && !`${rotated.stdout}${rotated.stderr}`.includes(first), 'no key in the output')
    assert.equal(await readAs(dataDir, second, legacy), 'old plaintext')
  })

  it('refuses to start with the old key alone, naming the key id it lacks and never a key', async () => {
    const refused = await tympan(['admin', 'sweep'], { STORAGE_ENCRYPTION_KEY: first })
    assert.equal(refused.code, 78, refused.stderr)
    assert.match(refused.stderr, new RegExp(`objects are encrypted with key ${idOf(second)}, which is not configured`))
    assert.ok(!refused.stderr.includes(first) && !refused.stderr.includes(second))
    const none = await tympan(['admin', 'sweep'], {})
    assert.equal(none.code, 78)
    assert.match(none.stderr, /objects are encrypted at rest, and STORAGE_ENCRYPTION_KEY is not set/)
  })

  it('backs up the ciphertext with its key rows, so a restore reads with the same key', async () => {
    const backupDir = path.join(root, 'backup')
    const backedUp = await tympan(['admin', 'backup', backupDir], { STORAGE_ENCRYPTION_KEY: second })
    assert.equal(backedUp.code, 0, backedUp.stderr)
    assert.equal(fs.readFileSync(path.join(backupDir, 'objects', legacy.slice(0, 2), legacy)).includes('old plaintext'), false, 'the backup holds ciphertext')
    const restoredDir = path.join(root, 'restored')
    const restored = await tympan(['admin', 'restore', backupDir], { STORAGE_ENCRYPTION_KEY: second }, restoredDir)
    assert.equal(restored.code, 0, restored.stderr)
    assert.equal(await readAs(restoredDir, second, legacy), 'old plaintext')
  })

  it('refuses to rotate while a server holds the embedded database, and says what to do', async () => {
    fs.writeFileSync(path.join(dataDir, 'db.lock'), String(process.pid))
    try {
      const busy = await tympan(['admin', 'rotate-storage-key'], { STORAGE_ENCRYPTION_KEY: second })
      assert.equal(busy.code, 1)
      assert.match(busy.stderr, new RegExp(`tympan serve \\(process ${process.pid}\\) holds the embedded database: stop it, run tympan admin rotate-storage-key, then start it again`))
    } finally {
      fs.rmSync(path.join(dataDir, 'db.lock'), { force: true })
    }
  })

  it('reports a key row that does not unwrap, re-wraps the others, and exits non-zero', async () => {
    const db = await openDatabase({ databaseUrl: '', pgliteDir: path.join(dataDir, 'db') })
    const good = randomUUID()
    try {
      await (await fileStoresFor(parseEnv({ TYMPAN_DATA_DIR: dataDir, STORAGE_ENCRYPTION_KEY: second }), db)).storage.write(good, Readable.from([Buffer.from('still fine')]))
      await db.kysely.updateTable('object_keys').set({ wrapped: Buffer.alloc(10) }).where('object_id', '=', legacy).execute()
    } finally {
      await db.close()
    }
    const third = newKey()
    const res = await tympan(['admin', 'rotate-storage-key'], { STORAGE_ENCRYPTION_KEY: third, STORAGE_ENCRYPTION_PREVIOUS_KEYS: second })
    assert.equal(res.code, 1, res.stderr)
    assert.match(res.stderr, new RegExp(`object ${legacy}: its key was not re-wrapped: the key of object ${legacy} has 10 bytes`))
    assert.match(res.stderr, /1 object key\(s\), listed above, could not be re-wrapped .* keep STORAGE_ENCRYPTION_PREVIOUS_KEYS/)
    assert.match(res.stdout, new RegExp(`Re-wrapped 1 object key\\(s\\) under key ${idOf(third)}`))
    assert.doesNotMatch(res.stdout, /remove STORAGE_ENCRYPTION_PREVIOUS_KEYS/)
    const reopened = await openDatabase({ databaseUrl: '', pgliteDir: path.join(dataDir, 'db') })
    try {
      const keyIds = await reopened.kysely.selectFrom('object_keys').select(['object_id', 'key_id']).execute()
      assert.deepEqual(Object.fromEntries(keyIds.map((row) => [row.object_id, row.key_id])), { [good]: idOf(third), [legacy]: idOf(second) }, 'the good row re-wrapped, the bad one left as it was')
    } finally {
      await reopened.close()
    }
  })
})
