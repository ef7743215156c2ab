import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { after, before, describe, it } from 'node:test'
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { ERRORS, Upload } from '@tus/server'
import { localFileStores } from '../../storage/local-storage.ts'
import { s3ClientConfig } from '../../storage/s3-storage.ts'
import { storageFailureKind } from '../../storage/storage-errors.ts'
import { startS3, type S3Service } from '../../../test/helpers/services.ts'
import { cutOff } from '../../../test/helpers/streams.ts'
import { ResumableS3Store } from './resumable-s3-store.ts'

const ID = '0b9e6c1e-5f7d-4c59-9d0e-6a1f2b3c4d5e'

describe('ResumableS3Store (tus S3Store, keys under <prefix>/resumable/)', () => {
  let s3: S3Service
  let store: ResumableS3Store
  /** Another API node on the same bucket. */
  let nodeB: ResumableS3Store
  let client: S3Client
  let root: string

  let infoReads = 0
  const keys = async () => ((await client.send(new ListObjectsV2Command({ Bucket: s3.bucket }))).Contents ?? []).map((object) => object.Key).sort()

  before(async () => {
    s3 = await startS3('unit', { onRequest: ({ method, path }) => { if (method === 'GET' && path.endsWith('.info')) infoReads++ } })
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-tus-s3-'))
    const config = s3ClientConfig({ bucket: s3.bucket, prefix: 'unit', endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1' })
    const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }
    client = new S3Client({ ...config, credentials })
    const newStore = () => new ResumableS3Store({ ...config, credentials }, { bucket: s3.bucket, prefix: 'unit' }, { expirationPeriodInMilliseconds: 3_600_000 }, localFileStores(root).workspace)
    store = newStore()
    nodeB = newStore()
  })
  after(async () => {
    // Their keep-alive sockets would hold the test process open.
    client.destroy()
    for (const each of [store, nodeB]) (each as unknown as { client: S3Client }).client.destroy()
    await s3.close()
    fs.rmSync(root, { recursive: true, force: true })
  })

  it('keeps every key of an upload under <prefix>/resumable/, and termination removes them all', async () => {
    await store.create(new Upload({ id: ID, size: 10, offset: 0, metadata: { owner: 'u1' } }))
    assert.equal(await store.write(Readable.from([Buffer.from('hello')]), ID, 0), 5)
    assert.deepEqual(await keys(), [`unit/resumable/${ID}.info`, `unit/resumable/${ID}.part`])
    const upload = await store.getUpload(ID)
    assert.equal(upload.offset, 5)
    assert.equal(upload.metadata?.owner, 'u1')
    await store.remove(ID)
    assert.deepEqual(await keys(), [])
  })

  it('answers tus\'s not-found for an unknown or malformed id, and discards one quietly', async () => {
    await assert.rejects(store.getUpload('6f1c2d3e-0000-4000-8000-000000000000'), (error) => error === ERRORS.FILE_NOT_FOUND)
    await assert.rejects(store.getUpload('../objects/x'), (error) => error === ERRORS.FILE_NOT_FOUND)
    await store.discard('6f1c2d3e-0000-4000-8000-000000000000')
  })

  it("reads an upload's .info once per request, and afresh in the next one", async () => {
    const id = '3d1f0c2e-7a4b-4c8d-9e0f-1a2b3c4d5e6f'
    await store.create(new Upload({ id, size: 10, offset: 0, metadata: { owner: 'u1' } }))
    infoReads = 0
    // A PATCH: the ownership check's lookup, tus's own, then the write.
    const offset = await store.request(async () => {
      assert.equal((await store.getUpload(id)).offset, 0)
      assert.equal((await store.getUpload(id)).offset, 0)
      return store.write(Readable.from([Buffer.from('hello')]), id, 0)
    })
    assert.equal(offset, 5)
    assert.equal(infoReads, 1, 'one read in the PATCH')
    infoReads = 0
    assert.equal((await store.getUpload(id)).offset, 5)
    assert.equal(infoReads, 1, 'one read outside a request too')
    infoReads = 0
    await store.request(() => store.remove(id))
    assert.equal(infoReads, 1, 'one read in the DELETE')

    // Another node terminates an upload between two requests: the next one sees it gone.
    const other = '4e2a1d3f-8b5c-4d9e-8f10-2b3c4d5e6f70'
    await store.create(new Upload({ id: other, size: 10, offset: 0, metadata: { owner: 'u1' } }))
    await store.request(() => store.getUpload(other))
    await nodeB.remove(other)
    await store.request(async () => {
      await assert.rejects(store.getUpload(other), (error) => error === ERRORS.FILE_NOT_FOUND)
    })
    assert.deepEqual(await keys(), [])
  })

  it('keeps what arrived of a PATCH whose body fails part-way (the client went away), as on local disk', async () => {
    const id = '5f3b2e4a-9c6d-4e0f-9a21-3c4d5e6f7081'
    const bytes = Buffer.from(Array.from({ length: 400_000 }, (_, i) => i % 251))
    await store.create(new Upload({ id, size: bytes.length, offset: 0 }))
    // The first PATCH ends short of a part: its bytes wait in `.part` for the next one.
    assert.equal(await store.write(Readable.from([bytes.subarray(0, 100_000)]), id, 0), 100_000)
    await assert.rejects(store.write(cutOff(bytes.subarray(100_000), 50_000), id, 100_000), (error) => error === ERRORS.FILE_WRITE_ERROR)
    const { offset } = await store.getUpload(id)
    assert.ok(offset !== undefined && offset >= 100_000 && offset <= 150_000, `kept ${offset}: the first PATCH's bytes and at most what arrived`)
    // The client resumes where the store stands, and the whole file is the bytes it sent.
    assert.equal(await store.write(Readable.from([bytes.subarray(offset)]), id, offset), bytes.length)
    assert.deepEqual(await buffer(await store.read(id)), bytes)
    await store.remove(id)
  })

  it('marks every failure of a stopped store unavailable (503), never not-found', async () => {
    await s3.stop()
    try {
      const attempts = [() => store.getUpload(ID), () => store.create(new Upload({ id: ID, size: 10, offset: 0 })), () => store.discard(ID), () => store.deleteExpired()]
      for (const attempt of attempts) await assert.rejects(attempt(), (error) => storageFailureKind(error) === 'unavailable')
    } finally {
      await s3.start()
    }
  })
})
