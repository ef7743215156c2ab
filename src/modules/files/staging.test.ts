import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { after, before, describe, it } from 'node:test'
import { parseStorageEncryption } from '../../config/storage-encryption.ts'
import { encryptedStorage, type ObjectKeys } from '../../storage/encrypted-storage.ts'
import { localStorage } from '../../storage/local-storage.ts'
import { localWorkspace } from '../../storage/local-workspace.ts'
import type { Storage, Workspace } from '../../storage/storage.ts'
import { STAGING, StagingLimitError, stageStream } from './staging.ts'

function memoryKeys (): ObjectKeys & { rows: Map<string, unknown> } {
  const rows = new Map<string, Parameters<ObjectKeys['insert']>[0]>()
  return {
    rows,
    async insert (row) { rows.set(row.objectId, row) },
    async find (id) { const row = rows.get(id); return row && { keyId: row.keyId, wrapped: row.wrapped } },
    async delete (id) { rows.delete(id) }
  } as ObjectKeys & { rows: Map<string, unknown> }
}

describe('staging into a store that receives while the bytes arrive (encryption at rest)', () => {
  let root: string
  let storage: Storage
  let workspace: Workspace
  const keys = memoryKeys()
  const bytes = randomBytes(300_000)
  const files = (dir: string) => fs.existsSync(path.join(root, dir)) ? fs.readdirSync(path.join(root, dir), { recursive: true }).filter((name) => fs.statSync(path.join(root, dir, String(name))).isFile()) : []

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-staging-'))
    const parsed = parseStorageEncryption(randomBytes(32).toString('base64'), '')
    if ('problems' in parsed || !parsed.current) throw new Error('test key does not parse')
    storage = encryptedStorage(localStorage(root), { current: parsed.current, previous: [] }, keys)
    workspace = localWorkspace(root, storage)
  })
  after(() => { fs.rmSync(root, { recursive: true, force: true }) })

  it('stages the plaintext and receives the same bytes as an object that appears on commit', async () => {
    const staged = await stageStream(workspace, Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]), bytes.length, storage)
    assert.equal(staged.sha256, createHash('sha256').update(bytes).digest('hex'))
    assert.deepEqual(fs.readFileSync(staged.path), bytes)
    const id = staged.receiving!.id
    assert.equal(await storage.exists(id), false)
    await staged.receiving!.object.commit()
    assert.deepEqual(await buffer(storage.read(id)), bytes)
    await workspace.remove(staged.path)
  })

  it('leaves no staged file, no object and no key row past the size limit', async () => {
    const objects = files('objects').length
    const rows = keys.rows.size
    await assert.rejects(stageStream(workspace, Readable.from([bytes, bytes]), bytes.length + 10, storage), StagingLimitError)
    assert.deepEqual(files(STAGING), [])
    assert.deepEqual(files('incoming'), [])
    assert.equal(files('objects').length, objects)
    assert.equal(keys.rows.size, rows)
  })

  it('leaves nothing when the client goes away', async () => {
    const source = Readable.from((async function * () { yield bytes; throw new Error('client went away') })())
    await assert.rejects(stageStream(workspace, source, 10 * bytes.length, storage), /client went away/)
    assert.deepEqual(files(STAGING), [])
    assert.deepEqual(files('incoming'), [])
  })
})

describe('staging a file that will be stored as it is', () => {
  it('fails, leaving nothing, when writing it back to disk while it arrives fails', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-staging-'))
    try {
      const plain = localWorkspace(root, localStorage(root))
      const workspace: Workspace = { ...plain, flushAhead: async () => { throw new Error('EIO: write-back failed') } }
      const megabytes = Array.from({ length: 80 }, () => Buffer.alloc(1 << 20))
      await assert.rejects(stageStream(workspace, Readable.from(megabytes), 100 << 20), /EIO/)
      assert.deepEqual(fs.readdirSync(path.join(root, STAGING)), [])
    } finally {
      fs.rmSync(root, { recursive: true, force: true })
    }
  })
})
