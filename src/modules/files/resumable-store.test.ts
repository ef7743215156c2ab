import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { after, describe, it } from 'node:test'
import { ERRORS, Upload } from '@tus/server'
import { localFileStores } from '../../storage/local-storage.ts'
import { cutOff } from '../../../test/helpers/streams.ts'
import { HashingFileStore } from './resumable-store.ts'

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-tus-store-'))
const dir = path.join(root, 'resumable')
fs.mkdirSync(dir)
after(() => fs.rmSync(root, { recursive: true, force: true }))

async function newUpload (store: HashingFileStore, size: number): Promise<string> {
  const id = crypto.randomUUID()
  await store.create(new Upload({ id, size, offset: 0 }))
  return id
}

describe('HashingFileStore', () => {
  const store = new HashingFileStore({ directory: dir }, localFileStores(root).workspace)
  const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251))
  const sha = createHash('sha256').update(bytes).digest('hex')

  it('knows the SHA-256 of an upload written in consecutive PATCHes', async () => {
    const id = await newUpload(store, bytes.length)
    let offset = await store.write(Readable.from([bytes.subarray(0, 100_000)]), id, 0)
    offset = await store.write(Readable.from([bytes.subarray(100_000)]), id, offset)
    assert.equal(offset, bytes.length)
    assert.deepEqual(fs.readFileSync(path.join(dir, id)), bytes)
    assert.equal(store.takeDigest(id, bytes.length), sha)
  })

  it('gives up (so the caller re-reads the file) when a PATCH does not continue where the hash stopped', async () => {
    const id = await newUpload(store, bytes.length)
    await store.write(Readable.from([bytes.subarray(0, 100_000)]), id, 0)
    await store.write(Readable.from([bytes.subarray(50_000)]), id, 50_000)
    assert.equal(store.takeDigest(id, bytes.length), undefined)
  })

  it('gives up when the upload is not complete', async () => {
    const id = await newUpload(store, bytes.length)
    await store.write(Readable.from([bytes.subarray(0, 100_000)]), id, 0)
    assert.equal(store.takeDigest(id, bytes.length), undefined)
  })

  it('keeps what arrived of a PATCH whose body fails part-way (the client went away)', async () => {
    const id = await newUpload(store, bytes.length)
    assert.equal(await store.write(Readable.from([bytes.subarray(0, 100_000)]), id, 0), 100_000)
    await assert.rejects(store.write(cutOff(bytes.subarray(100_000), 50_000), id, 100_000), (error) => error === ERRORS.FILE_WRITE_ERROR)
    const { offset } = await store.getUpload(id)
    assert.ok(offset >= 100_000 && offset <= 150_000, `kept ${offset}: the first PATCH's bytes and at most what arrived`)
    assert.equal(await store.write(Readable.from([bytes.subarray(offset)]), id, offset), bytes.length)
    assert.deepEqual(await buffer(await store.read(id)), bytes)
  })
})
