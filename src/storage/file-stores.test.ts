import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { after, describe, it } from 'node:test'
import { fileStoresFor } from './file-stores.ts'

describe('fileStoresFor', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-stores-'))
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }))

  it('keeps objects and the workspace under files/ of the data directory by default', async () => {
    const root = path.join(dataDir, 'files')
    const { storage, workspace } = fileStoresFor({ dataDir, storage: { driver: 'local', root } })
    const id = randomUUID()
    await storage.write(id, Readable.from([Buffer.from('x')]))
    assert.ok((await storage.localPath(id))?.startsWith(path.join(root, 'objects')))
    assert.equal(path.dirname(await workspace.dir('staging')), root)
  })

  it('puts objects in the file: directory and keeps the workspace in the data directory', async () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-objects-'))
    try {
      const { storage, workspace } = fileStoresFor({ dataDir, storage: { driver: 'local', root: elsewhere } })
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
    const { storage, workspace } = fileStoresFor({ dataDir, storage: { driver: 's3', bucket: 'tympan', prefix: 'p', endpoint: 'http://127.0.0.1:1', forcePathStyle: true, region: 'us-east-1' } })
    assert.equal(await storage.localPath(randomUUID()), undefined)
    assert.equal(path.dirname(await workspace.dir('jobs')), path.join(dataDir, 'files'))
  })
})
