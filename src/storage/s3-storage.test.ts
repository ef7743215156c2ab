import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, it } from 'node:test'
import { CreateMultipartUploadCommand, type ListObjectsV2Command, type S3Client, UploadPartCommand } from '@aws-sdk/client-s3'
import { startS3, type S3Service } from '../../test/helpers/services.ts'
import { localWorkspace } from './local-workspace.ts'
import { s3Client, s3Storage, type S3Location } from './s3-storage.ts'
import { storageContract } from './storage.contract.ts'

const locationOf = (s3: S3Service, prefix: string): S3Location => ({ bucket: s3.bucket, prefix, endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1' })
// The SDK's default credential chain reads these; s3rver accepts its own fixed pair.
Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' })

let s3: S3Service
let root: string

storageContract('S3 (s3rver)', {
  async open () {
    s3 = await startS3()
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-s3-workspace-'))
    const storage = s3Storage(s3Client(locationOf(s3, 'contract')), locationOf(s3, 'contract'))
    return { storage, workspace: localWorkspace(root, storage) }
  },
  async abandonWrite (_stores, ageMs) {
    const client = s3Client(locationOf(s3, 'contract'))
    // Multipart uploads begun and never completed, as by a process killed mid-write: one aged, one fresh.
    for (const age of [ageMs, 0]) {
      const Key = `contract/objects/${randomUUID()}`
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key }))
      await client.send(new UploadPartCommand({ Bucket: s3.bucket, Key, UploadId, PartNumber: 1, Body: 'half an object' }))
      const then = new Date(Date.now() - age)
      fs.utimesSync(path.join(s3.directory, s3.bucket, '._S3rver_uploads', UploadId!, 'key'), then, then)
    }
  },
  async ageObject (id, ageMs) {
    // s3rver answers LastModified from its object file's mtime.
    const then = new Date(Date.now() - ageMs)
    fs.utimesSync(path.join(s3.directory, s3.bucket, 'contract', 'objects', `${id}._S3rver_object`), then, then)
  },
  async close () {
    await s3.close()
    fs.rmSync(root, { recursive: true, force: true })
  }
})

describe('S3 listOlderThan', () => {
  // s3rver cannot answer a truncated listing on Node 24 (its continuation tokens need DES,
  // which OpenSSL 3 leaves out), so the paging runs against a client that answers as S3 does.
  it('follows the listing page after page, keeping old objects it gave out and nothing else', async () => {
    const ids = Array.from({ length: 5 }, () => randomUUID()).sort()
    const old = new Date(Date.now() - 2 * 3_600_000)
    const keys = [...ids.map((id) => ({ Key: `paged/objects/${id}`, LastModified: old })), { Key: 'paged/objects/notes.txt', LastModified: old }, { Key: `paged/objects/${randomUUID()}`, LastModified: new Date() }]
    const requests: { MaxKeys?: number, ContinuationToken?: string, Prefix?: string }[] = []
    const client = {
      async send (command: ListObjectsV2Command) {
        requests.push(command.input)
        const start = Number(command.input.ContinuationToken ?? 0)
        const end = start + (command.input.MaxKeys ?? 1000)
        return { Contents: keys.slice(start, end), IsTruncated: end < keys.length, ...(end < keys.length ? { NextContinuationToken: String(end) } : {}) }
      }
    } as unknown as S3Client
    const listed: string[] = []
    for await (const id of s3Storage(client, { bucket: 'b', prefix: 'paged' }, { listPageSize: 2 }).listOlderThan(3_600_000)) listed.push(id)
    assert.deepEqual(listed, ids)
    assert.deepEqual(requests.map((r) => [r.Prefix, r.MaxKeys, r.ContinuationToken]), [['paged/objects/', 2, undefined], ['paged/objects/', 2, '2'], ['paged/objects/', 2, '4'], ['paged/objects/', 2, '6']])
  })
})
