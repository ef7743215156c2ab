import assert from 'node:assert/strict'
import { createHash, randomUUID } from 'node:crypto'
import fs from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
import { text } from 'node:stream/consumers'
import { after, before, describe, it } from 'node:test'
import { CreateMultipartUploadCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3'
import type { FileStores } from './storage.ts'

/** What a driver under test provides: fresh stores, a way to age incomplete writes, and clean-up. */
export interface ContractSubject {
  open: () => Promise<FileStores>
  /** Leaves an incomplete write behind, as a process killed mid-write would, aged by `ageMs`. */
  abandonWrite: (stores: FileStores, ageMs: number) => Promise<void>
  /** Sets the last-written time of the complete object `id` to `ageMs` ago. */
  ageObject: (id: string, ageMs: number) => Promise<void>
  close: () => Promise<void>
}

const age = (file: string, ageMs: number) => {
  const then = new Date(Date.now() - ageMs)
  fs.utimesSync(file, then, then)
}

/** The subject's aging hooks for the local driver with its objects under `root()`. */
export function localAging (root: () => string): Pick<ContractSubject, 'abandonWrite' | 'ageObject'> {
  return {
    async abandonWrite (_stores, ageMs) {
      const part = path.join(root(), 'incoming', `${randomUUID()}.part`)
      fs.writeFileSync(part, 'half an object')
      age(part, ageMs)
      // A fresh one belongs to a write in progress and stays.
      fs.writeFileSync(path.join(root(), 'incoming', `${randomUUID()}.part`), 'in progress')
    },
    async ageObject (id, ageMs) { age(path.join(root(), 'objects', id.slice(0, 2), id), ageMs) }
  }
}

/**
 * The same for the S3 driver on s3rver (`server()`: its data directory and bucket), objects
 * under `prefix`: s3rver answers LastModified and an upload's age from its files' mtimes.
 */
export function s3rverAging (server: () => { directory: string, bucket: string }, prefix: string, client: () => S3Client): Pick<ContractSubject, 'abandonWrite' | 'ageObject'> {
  return {
    async abandonWrite (_stores, ageMs) {
      const { directory, bucket } = server()
      // Multipart uploads begun and never completed, as by a process killed mid-write: one aged, one fresh.
      for (const ms of [ageMs, 0]) {
        const Key = `${prefix}/objects/${randomUUID()}`
        const { UploadId } = await client().send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }))
        await client().send(new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber: 1, Body: 'half an object' }))
        age(path.join(directory, bucket, '._S3rver_uploads', UploadId!, 'key'), ms)
      }
    },
    async ageObject (id, ageMs) {
      const { directory, bucket } = server()
      age(path.join(directory, bucket, prefix, 'objects', `${id}._S3rver_object`), ageMs)
    }
  }
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex')

/**
 * The storage contract (docs/architecture.md): every driver runs this suite, from its own
 * test file, against a store of its own (the local driver in local-storage.test.ts).
 */
export function storageContract (driver: string, subject: ContractSubject): void {
  describe(`storage contract: ${driver}`, () => {
    let stores: FileStores
    before(async () => { stores = await subject.open() })
    after(() => subject.close())

    it('writes a stream as an object, answering its size and SHA-256, and reads it whole or by range', async () => {
      const id = randomUUID()
      const bytes = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251))
      assert.deepEqual(await stores.storage.write(id, Readable.from([bytes.subarray(0, 70_000), bytes.subarray(70_000)])), { size: bytes.length, sha256: sha256(bytes) })
      assert.equal(await stores.storage.exists(id), true)
      assert.deepEqual(await stores.storage.stat(id), { size: bytes.length })
      const whole: Buffer[] = []
      for await (const chunk of stores.storage.read(id)) whole.push(chunk as Buffer)
      assert.deepEqual(Buffer.concat(whole), bytes)
      const part: Buffer[] = []
      for await (const chunk of stores.storage.read(id, { start: 10, end: 19 })) part.push(chunk as Buffer)
      assert.deepEqual(Buffer.concat(part), bytes.subarray(10, 20))
    })

    it('leaves nothing of a write whose source fails', async () => {
      const id = randomUUID()
      const failing = Readable.from((async function * () { yield Buffer.from('half'); throw new Error('client went away') })())
      await assert.rejects(stores.storage.write(id, failing), /client went away/)
      assert.equal(await stores.storage.exists(id), false)
      assert.equal(await stores.storage.stat(id), undefined)
      assert.equal(await stores.storage.sweepIncomplete(0), 0, 'no incomplete write is left to sweep')
    })

    it('deletes an object, quietly when it is already gone', async () => {
      const id = randomUUID()
      await stores.storage.write(id, Readable.from([Buffer.from('x')]))
      await stores.storage.delete(id)
      assert.equal(await stores.storage.exists(id), false)
      await stores.storage.delete(id)
    })

    it('refuses an object name that is not a UUID', async () => {
      await assert.rejects(stores.storage.write('../escape', Readable.from([Buffer.from('x')])))
      await assert.rejects(stores.storage.stat('a/b'))
    })

    it('sweeps incomplete writes older than the cutoff, and only those', async () => {
      await subject.abandonWrite(stores, 2 * 3_600_000)
      assert.equal(await stores.storage.sweepIncomplete(3_600_000), 1)
      assert.equal(await stores.storage.sweepIncomplete(3_600_000), 0)
    })

    it('lists the objects older than the cutoff, and only those, whichever their number', async () => {
      const listed = async (olderThanMs: number) => {
        const ids: string[] = []
        for await (const id of stores.storage.listOlderThan(olderThanMs)) ids.push(id)
        return ids.sort()
      }
      const before = await listed(0)
      const old: string[] = Array.from({ length: 3 }, () => randomUUID()).sort()
      const young = randomUUID()
      for (const id of [...old, young]) await stores.storage.write(id, Readable.from([Buffer.from(id)]))
      for (const id of old) await subject.ageObject(id, 2 * 3_600_000)
      const aged = (await listed(3_600_000)).filter((id) => !before.includes(id))
      assert.deepEqual(aged, old)
      assert.ok((await listed(-60_000)).includes(young), 'a young object is listed once the cutoff has passed it')
      // Deleting as the listing goes is what the collector does.
      for await (const id of stores.storage.listOlderThan(3_600_000)) if (old.includes(id)) await stores.storage.delete(id)
      assert.deepEqual((await listed(3_600_000)).filter((id) => !before.includes(id)), [])
      await stores.storage.delete(young)
    })

    it('answers ping', async () => {
      await stores.storage.ping()
    })

    it('stores a workspace file as an object, consuming the file', async () => {
      const staged = await stores.workspace.createFile('staging')
      await new Promise<void>((resolve, reject) => staged.stream.end('checked bytes', () => resolve()).once('error', reject))
      const id = randomUUID()
      await stores.workspace.store(staged.path, id)
      assert.equal(await text(stores.storage.read(id)), 'checked bytes')
      await assert.rejects(stores.workspace.size(staged.path), { code: 'ENOENT' })
    })

    it('stores a workspace file flushed ahead the same way, and refuses to flush a path outside the workspace', async () => {
      const staged = await stores.workspace.createFile('staging')
      await new Promise<void>((resolve, reject) => staged.stream.end('flushed bytes', () => resolve()).once('error', reject))
      await stores.workspace.flushAhead(staged.path)
      const id = randomUUID()
      await stores.workspace.store(staged.path, id)
      assert.equal(await text(stores.storage.read(id)), 'flushed bytes')
      await assert.rejects(stores.workspace.flushAhead('/etc/passwd'), /not a path of the workspace/)
    })

    it('materialises an object as a readable local file for the tools', async () => {
      const id = randomUUID()
      await stores.storage.write(id, Readable.from([Buffer.from('for ffmpeg')]))
      const dir = await stores.workspace.tempDir('jobs', randomUUID())
      // The tools open it by path: a path on this machine, whichever driver holds the object.
      assert.equal(await readFile(await stores.workspace.materialise(id, dir), 'utf8'), 'for ffmpeg')
      await stores.workspace.remove(dir)
    })

    it('keeps workspace paths inside the workspace', async () => {
      await assert.rejects(stores.workspace.writer('/etc/tympan-contract'), /not a path of the workspace/)
      await assert.rejects(stores.workspace.dir('objects'), /invalid workspace area/)
      await assert.rejects(stores.workspace.remove(`${await stores.workspace.dir('staging')}/../../x`), /not a path of the workspace/)
    })

    it('lists stale workspace entries by the names it gives out, and leaves foreign ones', async () => {
      const fresh = await stores.workspace.tempDir('jobs', randomUUID())
      const foreign = `${await stores.workspace.dir('jobs')}/notes.txt`
      ;(await stores.workspace.writer(foreign)).end('put here by hand')
      const stale = await stores.workspace.stale('jobs', 0)
      assert.deepEqual(stale.map((entry) => entry.path), [fresh])
      assert.deepEqual(await stores.workspace.stale('jobs', 3_600_000), [])
      await stores.workspace.remove(fresh)
      await stores.workspace.remove(foreign)
    })
  })
}
