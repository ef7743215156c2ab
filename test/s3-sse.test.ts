import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { Upload as TusUpload } from '@tus/server'
import { parseEnv } from '../src/config/config.ts'
import { ResumableS3Store } from '../src/modules/files/resumable-s3-store.ts'
import { resumableStore } from '../src/modules/files/resumable-store.ts'
import { storedObjects } from '../src/storage/file-stores.ts'
import { localWorkspace } from '../src/storage/local-workspace.ts'
import { startS3, type S3Request, type S3Service } from './helpers/services.ts'

const MB = 1024 * 1024

/** What a request does, by S3's REST API. */
function kind (request: S3Request): string {
  if (request.method === 'PUT') return 'partNumber' in request.query ? 'UploadPart' : 'x-amz-copy-source' in request.headers ? 'CopyObject' : 'PutObject'
  if (request.method === 'POST') return 'uploads' in request.query ? 'CreateMultipartUpload' : 'uploadId' in request.query ? 'CompleteMultipartUpload' : 'DeleteObjects'
  return request.method
}
// The requests that create an object; UploadPart takes its encryption from CreateMultipartUpload.
const CREATES = new Set(['PutObject', 'CopyObject', 'CreateMultipartUpload'])

// Every write to the bucket through the real configuration and wiring: the object store's
// write and put (one PutObject below a part, a multipart upload above) and tus's S3Store
// (the multipart upload, its `.info` and `.part` objects), against s3rver, asserting the
// headers as they arrived.
for (const [name, env, headers] of [
  ['SSE-S3', { S3_SSE: 'AES256' }, { 'x-amz-server-side-encryption': 'AES256' }],
  ['SSE-KMS with a key', { S3_SSE: 'aws:kms', S3_SSE_KMS_KEY_ID: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
    { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' }],
  ['SSE-KMS with the default key', { S3_SSE: 'aws:kms' }, { 'x-amz-server-side-encryption': 'aws:kms' }],
  ['no server-side encryption', {}, {}]
] as const) {
  describe(`S3 writes with ${name}`, () => {
    let s3: S3Service
    let dataDir: string
    const requests: S3Request[] = []
    const saved = { ...process.env }

    before(async () => {
      s3 = await startS3('sse', { onRequest: (request) => requests.push(request) })
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-sse-'))
      // The SDK reads the credentials from the environment, as in production.
      Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' })
    })
    after(async () => {
      process.env = saved
      await s3.close()
      fs.rmSync(dataDir, { recursive: true, force: true })
    })

    it(headers['x-amz-server-side-encryption'] ? 'asks S3 to encrypt every object it creates, and sends nothing else the headers' : 'sends no encryption header at all', async () => {
      const config = parseEnv({ ...s3.env, TYMPAN_DATA_DIR: dataDir, ...env })
      // The driver itself: encryption at rest (a decorator over it, with its key rows) is not what this test is about.
      const storage = storedObjects(config)
      const workspace = localWorkspace(path.join(dataDir, 'files'), storage)
      await storage.write(randomUUID(), Readable.from([randomBytes(1000)]))
      // Above lib-storage's 8 MiB part: CreateMultipartUpload, parts, CompleteMultipartUpload.
      await storage.write(randomUUID(), Readable.from([randomBytes(9 * MB)]))
      const staged = path.join(dataDir, 'staged.bin')
      fs.writeFileSync(staged, randomBytes(2000))
      await storage.put(randomUUID(), staged)

      const tus = await resumableStore(workspace, config)()
      assert.ok(tus instanceof ResumableS3Store)
      const id = randomUUID()
      await tus.create(new TusUpload({ id, size: 6 * MB + 10, offset: 0, metadata: {} }))
      // A whole part (tus's minimum is 5 MiB) and a short end kept as the `.part` object.
      assert.equal(await tus.write(Readable.from([randomBytes(6 * MB)]), id, 0), 6 * MB)
      assert.equal(await tus.write(Readable.from([randomBytes(5)]), id, 6 * MB), 6 * MB + 5)
      await tus.discard(id)
      ;(tus as unknown as { client: { destroy: () => void } }).client.destroy()

      const kinds = requests.map(kind)
      for (const expected of ['PutObject', 'CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload']) assert.ok(kinds.includes(expected), `a ${expected} was sent: ${kinds.join(', ')}`)
      const tusKeys = requests.filter((r) => CREATES.has(kind(r)) && r.path.includes('/sse/resumable/')).map((r) => path.basename(r.path))
      assert.deepEqual(new Set(tusKeys), new Set([id, `${id}.info`, `${id}.part`]), 'tus\'s upload, .info and .part were written')
      for (const request of requests) {
        const sent = Object.fromEntries(Object.entries(request.headers).filter(([header]) => header.startsWith('x-amz-server-side-encryption')))
        assert.deepEqual(sent, CREATES.has(kind(request)) ? headers : {}, `${kind(request)} ${request.path}`)
      }
    })
  })
}
