import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { after, before, describe, it } from 'node:test'
import { parseStorageEncryption } from '../config/storage-encryption.ts'
import { backends, openTestDb, type TestDb } from '../../test/helpers/db.ts'
import { startS3, type S3Service } from '../../test/helpers/services.ts'
import { encryptedStorage, type StorageKeyring } from './encrypted-storage.ts'
import { CHUNK_SIZE, HEADER_SIZE, SEGMENT_SIZE, encryptedSize } from './encryption-format.ts'
import { localStorage } from './local-storage.ts'
import { localWorkspace } from './local-workspace.ts'
import { objectKeysRepository } from './object-keys.repository.ts'
import { s3Client, s3Storage, type S3Location } from './s3-storage.ts'
import { localAging, s3rverAging, storageContract } from './storage.contract.ts'
import { storageFailureKind } from './storage-errors.ts'
import type { Storage } from './storage.ts'

Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' })

function keyring (current = randomBytes(32).toString('base64'), previous = ''): StorageKeyring {
  const parsed = parseStorageEncryption(current, previous)
  if ('problems' in parsed || !parsed.current) throw new Error('test keys do not parse')
  return { current: parsed.current, previous: parsed.previous }
}

const [pglite, postgres] = await backends()

// The contract, over both drivers and both databases.
{
  let root: string
  let testDb: TestDb
  storageContract('encrypted, over local disk (PGlite)', {
    async open () {
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-encrypted-'))
      testDb = await openTestDb(pglite!.name)
      const storage = encryptedStorage(localStorage(root), keyring(), objectKeysRepository(testDb.db.kysely))
      return { storage, workspace: localWorkspace(root, storage) }
    },
    ...localAging(() => root),
    async close () {
      await testDb.close()
      fs.rmSync(root, { recursive: true, force: true })
    }
  })
}

if (!postgres!.skip) {
  let s3: S3Service
  let root: string
  let testDb: TestDb
  const location = (): S3Location => ({ bucket: s3.bucket, prefix: 'encrypted', endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1' })
  storageContract('encrypted, over S3 (s3rver, PostgreSQL)', {
    async open () {
      s3 = await startS3()
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-encrypted-s3-'))
      testDb = await openTestDb('postgres')
      const storage = encryptedStorage(s3Storage(s3Client(location()), location()), keyring(), objectKeysRepository(testDb.db.kysely))
      return { storage, workspace: localWorkspace(root, storage) }
    },
    ...s3rverAging(() => s3, 'encrypted', () => s3Client(location())),
    async close () {
      await testDb.close()
      await s3.close()
      fs.rmSync(root, { recursive: true, force: true })
    }
  })
}

const readAll = async (stream: Readable): Promise<Buffer> => {
  const parts: Buffer[] = []
  for await (const chunk of stream) parts.push(chunk as Buffer)
  return Buffer.concat(parts)
}

/** What a reader got before the stream failed, and how it failed. */
async function readUntilFailure (stream: Readable): Promise<{ received: number, error: unknown }> {
  let received = 0
  try {
    for await (const chunk of stream) received += (chunk as Buffer).length
    return { received, error: undefined }
  } catch (error) {
    return { received, error }
  }
}

for (const backend of await backends()) {
  describe(`encrypted storage over local disk: tampering and ranges (${backend.name})`, { skip: backend.skip }, () => {
    let root: string
    let testDb: TestDb
    let inner: Storage
    let storage: Storage
    const keys = keyring()
    const file = (id: string) => path.join(root, 'objects', id.slice(0, 2), id)
    const SIZE = 3 * CHUNK_SIZE + 1000
    const plaintext = randomBytes(SIZE)
    const write = async () => {
      const id = randomUUID()
      await storage.write(id, Readable.from([plaintext.subarray(0, 100_000), plaintext.subarray(100_000)]))
      return id
    }
    before(async () => {
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-encrypted-'))
      testDb = await openTestDb(backend.name)
      inner = localStorage(root)
      storage = encryptedStorage(inner, keys, objectKeysRepository(testDb.db.kysely))
    })
    after(async () => {
      await testDb.close()
      fs.rmSync(root, { recursive: true, force: true })
    })

    it('stores the object encrypted, answers its plaintext size, SHA-256 and bytes', async () => {
      const id = randomUUID()
      const written = await storage.write(id, Readable.from([plaintext]))
      assert.equal(written.size, SIZE)
      assert.equal(fs.statSync(file(id)).size, encryptedSize(SIZE))
      assert.equal(fs.readFileSync(file(id)).includes(plaintext.subarray(0, 64)), false, 'no plaintext on disk')
      assert.deepEqual(await storage.stat(id), { size: SIZE })
      assert.deepEqual(await readAll(storage.read(id)), plaintext)
    })

    it('reads ranges across chunk boundaries, the first and last byte, one byte and a whole chunk', async () => {
      const id = await write()
      for (const [start, end] of [[CHUNK_SIZE - 5, 2 * CHUNK_SIZE + 4], [0, 0], [SIZE - 1, SIZE - 1], [77_777, 77_777], [CHUNK_SIZE, 2 * CHUNK_SIZE - 1], [0, SIZE - 1], [3 * CHUNK_SIZE, SIZE - 1]] as const) {
        assert.deepEqual(await readAll(storage.read(id, { start, end })), plaintext.subarray(start, end + 1), `bytes ${start}-${end}`)
      }
    })

    it('refuses an object with one flipped bit: no byte reaches the reader, and the failure is the store\'s', async () => {
      const id = await write()
      const stored = fs.readFileSync(file(id))
      stored[HEADER_SIZE + 10]! ^= 0x04
      fs.writeFileSync(file(id), stored)
      const whole = await readUntilFailure(storage.read(id))
      assert.equal(whole.received, 0)
      assert.equal(storageFailureKind(whole.error), 'unavailable')
      assert.match(((whole.error as Error).cause as Error).message, /chunk 0 failed its authentication tag/)
      const range = await readUntilFailure(storage.read(id, { start: 5, end: 10 }))
      assert.equal(range.received, 0)
      assert.equal(storageFailureKind(range.error), 'unavailable')
    })

    it('refuses a truncated object, whole or by range', async () => {
      const id = await write()
      fs.truncateSync(file(id), HEADER_SIZE + 2 * SEGMENT_SIZE)
      const whole = await readUntilFailure(storage.read(id))
      assert.equal(storageFailureKind(whole.error), 'unavailable')
      assert.equal(whole.received, CHUNK_SIZE, 'only the chunk that verified: the last one left could not be final')
      assert.equal(storageFailureKind((await readUntilFailure(storage.read(id, { start: SIZE - 10, end: SIZE - 1 }))).error), 'unavailable')
      assert.equal(storageFailureKind((await readUntilFailure(storage.read(id, { start: 2 * CHUNK_SIZE - 10, end: 2 * CHUNK_SIZE + 10 }))).error), 'unavailable')
      fs.truncateSync(file(id), HEADER_SIZE + 2 * SEGMENT_SIZE + 5)
      await assert.rejects(storage.stat(id), (error: unknown) => storageFailureKind(error) === 'unavailable')
    })

    it('refuses an object copied over another id, and a key row copied with it', async () => {
      const a = await write()
      const b = await write()
      fs.copyFileSync(file(a), file(b))
      assert.equal(storageFailureKind((await readUntilFailure(storage.read(b))).error), 'unavailable')
      // Someone who can also write the database copies a's key row onto b.
      const row = await testDb.db.kysely.selectFrom('object_keys').selectAll().where('object_id', '=', a).executeTakeFirstOrThrow()
      await testDb.db.kysely.updateTable('object_keys').set({ wrapped: row.wrapped }).where('object_id', '=', b).execute()
      const copied = await readUntilFailure(storage.read(b))
      assert.equal(copied.received, 0)
      assert.equal(storageFailureKind(copied.error), 'unavailable')
    })

    it('reads an object written before encryption was on as it is, and leaves a local path to it', async () => {
      const id = randomUUID()
      await inner.write(id, Readable.from([Buffer.from('plain old audio')]))
      assert.equal((await readAll(storage.read(id))).toString(), 'plain old audio')
      assert.equal((await readAll(storage.read(id, { start: 6, end: 8 }))).toString(), 'old')
      assert.equal(await storage.localPath(id), file(id))
    })

    it('reads with an older key named in the keyring, and refuses a key it does not hold', async () => {
      const id = await write()
      const rotated = encryptedStorage(inner, { current: keyring().current, previous: [keys.current] }, objectKeysRepository(testDb.db.kysely))
      assert.deepEqual(await readAll(rotated.read(id, { start: 0, end: 99 })), plaintext.subarray(0, 100))
      const stranger = encryptedStorage(inner, keyring(), objectKeysRepository(testDb.db.kysely))
      const refused = await readUntilFailure(stranger.read(id))
      assert.equal(storageFailureKind(refused.error), 'unavailable')
      assert.match(((refused.error as Error).cause as Error).message, new RegExp(`encrypted with key ${keys.current.id}, which is not configured`))
    })

    const keyRow = (id: string) => testDb.db.kysely.selectFrom('object_keys').select('object_id').where('object_id', '=', id).executeTakeFirst()
    const incoming = () => fs.readdirSync(path.join(root, 'incoming'))

    it('receives an object as its bytes arrive: no object and no key row until commit, then its plaintext', async () => {
      const id = randomUUID()
      const received = await storage.receive!(id)
      await pipeline(Readable.from([plaintext.subarray(0, 100_000), plaintext.subarray(100_000)]), received.stream)
      assert.equal(await storage.exists(id), false)
      assert.equal(await keyRow(id), undefined)
      await received.commit()
      assert.equal(fs.statSync(file(id)).size, encryptedSize(SIZE))
      assert.deepEqual(await readAll(storage.read(id)), plaintext)
      assert.deepEqual(await readAll(storage.read(id, { start: SIZE - 10, end: SIZE - 1 })), plaintext.subarray(SIZE - 10))
      await assert.rejects(received.commit(), /not received whole/)
    })

    it('leaves nothing of a received object that is discarded, whole or halfway', async () => {
      const before = incoming().length
      const whole = randomUUID()
      const received = await storage.receive!(whole)
      await pipeline(Readable.from([plaintext]), received.stream)
      await received.discard()
      const halfway = randomUUID()
      const cut = await storage.receive!(halfway)
      cut.stream.write(plaintext.subarray(0, 70_000))
      await cut.discard()
      await cut.discard()
      for (const id of [whole, halfway]) {
        assert.equal(fs.existsSync(file(id)), false)
        assert.equal(await keyRow(id), undefined)
      }
      assert.equal(incoming().length, before)
      await assert.rejects(received.commit(), /not received whole/)
    })

    it('refuses to commit a received object before its bytes are all in', async () => {
      const id = randomUUID()
      const received = await storage.receive!(id)
      received.stream.write(plaintext.subarray(0, 1000))
      await assert.rejects(received.commit(), /not received whole/)
      await received.discard()
      assert.equal(await keyRow(id), undefined)
    })

    it('fails the receiving stream when the store fails, and commits no row for it', async () => {
      const failing: Storage = {
        ...inner,
        async write (_id, source) {
          for await (const chunk of source) if ((chunk as Buffer).length > 0) throw new Error('disk full')
          return { size: 0 }
        }
      }
      const broken = encryptedStorage(failing, keys, objectKeysRepository(testDb.db.kysely))
      const id = randomUUID()
      const received = await broken.receive!(id)
      // More than the streams between hold, so the failure reaches the writer.
      const megabytes = Array.from({ length: 8 }, () => randomBytes(1 << 20))
      await assert.rejects(pipeline(Readable.from(megabytes), received.stream), /disk full/)
      await assert.rejects(received.commit(), /disk full/)
      await received.discard()
      assert.equal(await keyRow(id), undefined)
    })

    it('deletes the object and its key row, and leaves no row behind a failed write', async () => {
      const id = await write()
      await storage.delete(id)
      assert.equal(await storage.exists(id), false)
      assert.equal(await testDb.db.kysely.selectFrom('object_keys').select('object_id').where('object_id', '=', id).executeTakeFirst(), undefined)
      const failed = randomUUID()
      const source = Readable.from((async function * () { yield randomBytes(100_000); throw new Error('client went away') })())
      await assert.rejects(storage.write(failed, source), /client went away/)
      assert.equal(await testDb.db.kysely.selectFrom('object_keys').select('object_id').where('object_id', '=', failed).executeTakeFirst(), undefined)
      assert.equal(fs.existsSync(file(failed)), false)
    })
  })
}
