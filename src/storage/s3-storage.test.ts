import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3'
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
  async close () {
    await s3.close()
    fs.rmSync(root, { recursive: true, force: true })
  }
})
