import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { text } from 'node:stream/consumers'
import { after, before, describe, it } from 'node:test'
import { ConfigError } from '../config/config.ts'
import { parseStorageEncryption, type StorageEncryption } from '../config/storage-encryption.ts'
import { backends, openTestDb, type TestDb } from '../../test/helpers/db.ts'
import { fileStoresFor } from './file-stores.ts'

const OFF: StorageEncryption = { current: undefined, previous: [] }
const newKey = () => randomBytes(32).toString('base64')
const keys = (current: string, previous = ''): StorageEncryption => {
  const parsed = parseStorageEncryption(current, previous)
  if ('problems' in parsed) throw new Error(parsed.problems.join('; '))
  return parsed
}

describe('fileStoresFor', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-stores-'))
  let testDb: TestDb
  before(async () => { testDb = await openTestDb('pglite') })
  after(async () => {
    await testDb.close()
    fs.rmSync(dataDir, { recursive: true, force: true })
  })

  it('keeps objects and the workspace under files/ of the data directory by default', async () => {
    const root = path.join(dataDir, 'files')
    const { storage, workspace } = await fileStoresFor({ dataDir, storage: { driver: 'local', root }, storageEncryption: OFF }, testDb.db)
    const id = randomUUID()
    await storage.write(id, Readable.from([Buffer.from('x')]))
    assert.ok((await storage.localPath(id))?.startsWith(path.join(root, 'objects')))
    assert.equal(path.dirname(await workspace.dir('staging')), root)
  })

  it('puts objects in the file: directory and keeps the workspace in the data directory', async () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-objects-'))
    try {
      const { storage, workspace } = await fileStoresFor({ dataDir, storage: { driver: 'local', root: elsewhere }, storageEncryption: OFF }, testDb.db)
      const staged = await workspace.createFile('staging')
      await new Promise<void>((resolve, reject) => staged.stream.end('checked', () => resolve()).once('error', reject))
      assert.ok(staged.path.startsWith(path.join(dataDir, 'files', 'staging')))
      const id = randomUUID()
      await workspace.store(staged.path, id)
      assert.ok((await storage.localPath(id))?.startsWith(path.join(elsewhere, 'objects')))
      assert.equal(fs.existsSync(staged.path), false)
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true })
    }
  })

  it('gives a remote driver for s3:, with no local paths, beside the local workspace', async () => {
    const { storage, workspace } = await fileStoresFor({ dataDir, storage: { driver: 's3', bucket: 'tympan', prefix: 'p', endpoint: 'http://127.0.0.1:1', forcePathStyle: true, region: 'us-east-1' }, storageEncryption: OFF }, testDb.db)
    assert.equal(await storage.localPath(randomUUID()), undefined)
    assert.equal(path.dirname(await workspace.dir('jobs')), path.join(dataDir, 'files'))
  })
})

for (const backend of await backends()) {
  describe(`fileStoresFor with encryption at rest (${backend.name})`, { skip: backend.skip }, () => {
    let testDb: TestDb
    let dataDir: string
    const key = newKey()
    const config = (storageEncryption: StorageEncryption) => ({ dataDir, storage: { driver: 'local' as const, root: path.join(dataDir, 'files') }, storageEncryption })
    before(async () => {
      testDb = await openTestDb(backend.name)
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-stores-'))
    })
    after(async () => {
      await testDb.close()
      fs.rmSync(dataDir, { recursive: true, force: true })
    })

    it('stores ciphertext, reads plaintext, and warns of objects written before encryption was on', async () => {
      const owner = (await testDb.db.kysely.insertInto('users').values({ email: `${randomUUID()}@example.test`, password_hash: null, role: 'member' }).returning('id').executeTakeFirstOrThrow()).id
      const legacy = randomUUID()
      const plain = await fileStoresFor(config(OFF), testDb.db)
      await plain.storage.write(legacy, Readable.from([Buffer.from('written before')]))
      await testDb.db.kysely.insertInto('files').values({ id: legacy, owner_id: owner, name: 'a.wav', format: 'wav', content_type: 'audio/wav', size: 14, sha256: '0'.repeat(64), duration_sec: 1, sample_rate: 8000, channels: 1, codec: 'pcm_s16le', source: 'upload', source_url: null, expires_at: new Date(Date.now() + 3_600_000) }).execute()

      const encrypted = await fileStoresFor(config(keys(key)), testDb.db)
      assert.deepEqual(encrypted.warnings, ['1 object(s) are stored unencrypted (written before STORAGE_ENCRYPTION_KEY was set); they stay readable, and tympan admin rotate-storage-key encrypts them'])
      assert.equal(await text(encrypted.storage.read(legacy)), 'written before')
      const id = randomUUID()
      await encrypted.storage.write(id, Readable.from([Buffer.from('secret words')]))
      assert.equal(await text(encrypted.storage.read(id)), 'secret words')
      assert.ok(!(await text(encrypted.stored.read(id))).includes('secret words'), 'the driver holds ciphertext')
      assert.equal(await encrypted.storage.localPath(id), undefined, 'tools get a decrypted copy, never the ciphertext file')
    })

    it('refuses to start with a key other than the one objects are encrypted with, naming only its id', async () => {
      const other = newKey()
      const refusal = await fileStoresFor(config(keys(other)), testDb.db).then(() => undefined, (error: unknown) => error)
      assert.ok(refusal instanceof ConfigError)
      assert.ok(refusal.message.includes(`objects are encrypted with key ${keys(key).current!.id}, which is not configured`), refusal.message)
      assert.ok(!refusal.message.includes(other) && !refusal.message.includes(key), 'no key in the message')
    })

    it('refuses to start without a key while encrypted objects exist', async () => {
      await assert.rejects(fileStoresFor(config(OFF), testDb.db), (error: unknown) => error instanceof ConfigError && /STORAGE_ENCRYPTION_KEY is not set/.test(error.message))
    })
  })
}
