import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { text } from 'node:stream/consumers'
import { after, before, describe, it } from 'node:test'
import { parseStorageEncryption } from '../config/storage-encryption.ts'
import { backends, openTestDb, type TestDb } from '../../test/helpers/db.ts'
import { encryptedStorage, type StorageKeyring } from './encrypted-storage.ts'
import { rotateStorageKeys } from './key-rotation.ts'
import { localStorage } from './local-storage.ts'
import { localWorkspace } from './local-workspace.ts'
import { objectKeysRepository } from './object-keys.repository.ts'

const newKey = () => randomBytes(32).toString('base64')
const keyring = (current: string, previous = ''): StorageKeyring => {
  const parsed = parseStorageEncryption(current, previous)
  if ('problems' in parsed || !parsed.current) throw new Error('test keys do not parse')
  return { current: parsed.current, previous: parsed.previous }
}

for (const backend of await backends()) {
  describe(`tympan admin rotate-storage-key's rotation (${backend.name})`, { skip: backend.skip }, () => {
    let root: string
    let testDb: TestDb
    before(async () => {
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-rotation-'))
      testDb = await openTestDb(backend.name)
    })
    after(async () => {
      await testDb.close()
      fs.rmSync(root, { recursive: true, force: true })
    })

    const fileRow = async (id: string) => {
      const owner = (await testDb.db.kysely.insertInto('users').values({ email: `${randomUUID()}@example.test`, password_hash: null, role: 'member' }).returning('id').executeTakeFirstOrThrow()).id
      await testDb.db.kysely.insertInto('files').values({ id, owner_id: owner, name: 'a.wav', format: 'wav', content_type: 'audio/wav', size: 1, sha256: '0'.repeat(64), duration_sec: 1, sample_rate: 8000, channels: 1, codec: 'pcm_s16le', source: 'upload', source_url: null, expires_at: new Date(Date.now() + 3_600_000) }).execute()
    }

    it('re-wraps old keys without rewriting objects and encrypts plaintext ones, after which the new key alone reads everything', async () => {
      const stored = localStorage(root)
      const objectKeys = objectKeysRepository(testDb.db.kysely)
      const [oldKey, newer] = [newKey(), newKey()]
      const before = encryptedStorage(stored, keyring(oldKey), objectKeys)
      const pages = Array.from({ length: 5 }, () => randomUUID())
      for (const id of pages) await before.write(id, Readable.from([Buffer.from(`audio ${id}`)]))
      const objectFile = (id: string) => path.join(root, 'objects', id.slice(0, 2), id)
      const untouched = fs.readFileSync(objectFile(pages[0]!))
      const legacy = randomUUID()
      await stored.write(legacy, Readable.from([Buffer.from('from before encryption')]))
      await fileRow(legacy)
      const gone = randomUUID()
      await fileRow(gone)

      const keys = keyring(newer, oldKey)
      const storage = encryptedStorage(stored, keys, objectKeys)
      const workspace = localWorkspace(root, storage)
      const progress: number[] = []
      const summary = await rotateStorageKeys({ keys, objectKeys, stored, workspace, pageSize: 2, onPage: (s) => progress.push(s.rewrapped) })
      assert.deepEqual(summary, { rewrapped: 5, encrypted: 1, absent: 1, failed: 0, stopped: false })
      assert.deepEqual(progress.slice(0, 3), [2, 4, 5], 'page by page')
      assert.deepEqual(fs.readFileSync(objectFile(pages[0]!)), untouched, 'a re-wrap leaves the object as it was')
      assert.ok(!fs.readFileSync(objectFile(legacy)).includes('from before encryption'), 'the plaintext object is now ciphertext')
      assert.deepEqual(await workspace.stale('staging', -60_000), [], 'no plaintext copy left in staging')

      const newOnly = encryptedStorage(stored, keyring(newer), objectKeys)
      for (const id of pages) assert.equal(await text(newOnly.read(id)), `audio ${id}`)
      assert.equal(await text(newOnly.read(legacy)), 'from before encryption')
      assert.equal(await text(newOnly.read(legacy, { start: 5, end: 10 })), 'before')

      assert.deepEqual(await rotateStorageKeys({ keys, objectKeys, stored, workspace }), { rewrapped: 0, encrypted: 0, absent: 1, failed: 0, stopped: false }, 'a second run finds nothing to do')
    })

    it('reports a key row that does not unwrap, skips it, and re-wraps all the others', async () => {
      await testDb.db.kysely.deleteFrom('object_keys').execute()
      const stored = localStorage(root)
      const objectKeys = objectKeysRepository(testDb.db.kysely)
      const [oldKey, newer] = [newKey(), newKey()]
      const before = encryptedStorage(stored, keyring(oldKey), objectKeys)
      const ids = [randomUUID(), randomUUID(), randomUUID()].sort()
      for (const id of ids) await before.write(id, Readable.from([Buffer.from(`audio ${id}`)]))
      const [, corrupt] = ids as [string, string, string]
      const row = await objectKeys.find(corrupt)
      const flipped = Buffer.from(row!.wrapped)
      flipped[20]! ^= 0xff
      await testDb.db.kysely.updateTable('object_keys').set({ wrapped: flipped }).where('object_id', '=', corrupt).execute()

      const keys = keyring(newer, oldKey)
      const workspace = localWorkspace(root, encryptedStorage(stored, keys, objectKeys))
      const failures: [string, string][] = []
      const summary = await rotateStorageKeys({ keys, objectKeys, stored, workspace, pageSize: 2, onFailure: (id, reason) => failures.push([id, reason]) })
      assert.deepEqual({ rewrapped: summary.rewrapped, failed: summary.failed, stopped: summary.stopped }, { rewrapped: 2, failed: 1, stopped: false })
      assert.deepEqual(failures, [[corrupt, `the key of object ${corrupt} does not unwrap under master key ${keys.previous[0]!.id}`]])
      assert.ok(!failures[0]![1].includes(oldKey) && !failures[0]![1].includes(newer), 'no key in the report')
      const newOnly = encryptedStorage(stored, keyring(newer), objectKeys)
      for (const id of ids.filter((id) => id !== corrupt)) assert.equal(await text(newOnly.read(id)), `audio ${id}`)
      assert.deepEqual((await objectKeys.find(corrupt))?.wrapped, flipped, 'the bad row is left as it was')

      const again = await rotateStorageKeys({ keys, objectKeys, stored, workspace })
      assert.deepEqual({ rewrapped: again.rewrapped, failed: again.failed }, { rewrapped: 0, failed: 1 }, 'the next run reports it again')
      await testDb.db.kysely.deleteFrom('object_keys').execute()
    })

    it('stops between objects when signalled, every object readable, and a second run goes on', async () => {
      // Rows of the test before are under keys this one does not hold.
      await testDb.db.kysely.deleteFrom('object_keys').execute()
      await testDb.db.kysely.deleteFrom('files').execute()
      const stored = localStorage(root)
      const objectKeys = objectKeysRepository(testDb.db.kysely)
      const key = newKey()
      const keys = keyring(key)
      const storage = encryptedStorage(stored, keys, objectKeys)
      const workspace = localWorkspace(root, storage)
      const legacy = [randomUUID(), randomUUID(), randomUUID()].sort()
      for (const id of legacy) {
        await stored.write(id, Readable.from([Buffer.from(`legacy ${id}`)]))
        await fileRow(id)
      }
      const stop = new AbortController()
      // Ctrl-C arrives while the first object is being encrypted: that one finishes, no other starts.
      const stopping = { ...workspace, store: async (file: string, id: string) => { stop.abort(); await workspace.store(file, id) } }
      const first = await rotateStorageKeys({ keys, objectKeys, stored, workspace: stopping, signal: stop.signal })
      assert.equal(first.stopped, true)
      assert.equal(first.encrypted, 1)
      for (const id of legacy) assert.equal(await text(storage.read(id)), `legacy ${id}`, 'nothing left between a key row and its bytes')
      const rest = await rotateStorageKeys({ keys, objectKeys, stored, workspace })
      assert.equal(rest.stopped, false)
      assert.equal(rest.encrypted, 2, 'the second run encrypts the others')
      for (const id of legacy) assert.ok(await objectKeys.find(id), `${id} is encrypted now`)
    })
  })
}
