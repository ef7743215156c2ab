import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { it } from 'node:test'
import { localFileStores, localStorage } from './local-storage.ts'
import { localAging, storageContract } from './storage.contract.ts'

let root: string

storageContract('local disk', {
  async open () {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-storage-'))
    return localFileStores(root)
  },
  ...localAging(() => root),
  async close () {
    fs.rmSync(root, { recursive: true, force: true })
  }
})

it('local disk: a failed write-back ahead of put is an error, not ignored', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-flush-'))
  try {
    const storage = localStorage(path.join(dir, 'store'))
    await assert.rejects(storage.flushAhead!(path.join(dir, 'gone.part')), { code: 'ENOENT' })
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
