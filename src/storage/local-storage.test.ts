import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { it } from 'node:test'
import { localFileStores, localStorage } from './local-storage.ts'
import { storageContract } from './storage.contract.ts'

let root: string

storageContract('local disk', {
  async open () {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-storage-'))
    return localFileStores(root)
  },
  async abandonWrite (_stores, ageMs) {
    const part = path.join(root, 'incoming', `${crypto.randomUUID()}.part`)
    fs.writeFileSync(part, 'half an object')
    const then = new Date(Date.now() - ageMs)
    fs.utimesSync(part, then, then)
    // A fresh one belongs to a write in progress and stays.
    fs.writeFileSync(path.join(root, 'incoming', `${crypto.randomUUID()}.part`), 'in progress')
  },
  async ageObject (id, ageMs) {
    const then = new Date(Date.now() - ageMs)
    fs.utimesSync(path.join(root, 'objects', id.slice(0, 2), id), then, then)
  },
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
