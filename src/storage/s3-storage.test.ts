import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import v8 from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { startS3, type S3Service } from '../../test/helpers/services.ts'
import { localWorkspace } from './local-workspace.ts'
import { s3Client, s3Storage, type S3Location } from './s3-storage.ts'
import { s3rverAging, storageContract } from './storage.contract.ts'
import { storageFailureKind } from './storage-errors.ts'
import type { Storage } from './storage.ts'

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
  ...s3rverAging(() => s3, 'contract', () => s3Client(locationOf(s3, 'contract'))),
  async close () {
    await s3.close()
    fs.rmSync(root, { recursive: true, force: true })
  }
})

describe('S3 driver on s3rver: multipart writes', () => {
  const MiB = 1024 * 1024
  let s3: S3Service
  let storage: Storage
  before(async () => {
    s3 = await startS3()
    // The smallest part S3 allows, so that a few MiB make a multipart upload.
    storage = s3Storage(s3Client(locationOf(s3, 'parts')), locationOf(s3, 'parts'), { partSize: 5 * MiB, queueSize: 2 })
  })
  after(() => s3.close())

  // Byte n is n mod 251: a prime period, so no part boundary (a power of two) lines up with it.
  const PERIOD = Buffer.from(Array.from({ length: 251 * 1200 }, (_, i) => i % 251))
  const slice = (start: number, length: number) => Buffer.from(PERIOD.subarray(start % 251, start % 251 + length))
  /** `total` bytes of the pattern, `chunk` (at most 256 KiB) at a time, made as they are read. */
  async function * generated (total: number, chunk = 64 * 1024, onChunk?: (sent: number) => Promise<void>) {
    for (let sent = 0; sent < total; sent += chunk) {
      const length = Math.min(chunk, total - sent)
      yield slice(sent, length)
      await onChunk?.(sent + length)
    }
  }
  const expected = (start: number, end: number) => {
    const parts: Buffer[] = []
    for (let at = start; at <= end; at += 256 * 1024) parts.push(slice(at, Math.min(256 * 1024, end + 1 - at)))
    return Buffer.concat(parts)
  }
  const readAll = async (stream: Readable) => { const parts: Buffer[] = []; for await (const chunk of stream) parts.push(chunk as Buffer); return Buffer.concat(parts) }

  it('reads ranges that cross part boundaries', async () => {
    const id = randomUUID()
    const written = await storage.write(id, Readable.from(generated(12 * MiB)))
    assert.equal(written.size, 12 * MiB)
    assert.equal(written.sha256, createHash('sha256').update(expected(0, 12 * MiB - 1)).digest('hex'))
    for (const [start, end] of [[5 * MiB - 10, 5 * MiB + 9], [10 * MiB - 1, 10 * MiB], [0, 0], [12 * MiB - 3, 12 * MiB - 1], [4 * MiB, 11 * MiB]] as const) {
      assert.deepEqual(await readAll(storage.read(id, { start, end })), expected(start, end), `bytes ${start}-${end}`)
    }
    assert.deepEqual(await storage.stat(id), { size: 12 * MiB })
  })

  it('streams a 96 MiB object with memory bounded by the parts in flight, not by the object', async (test) => {
    // The store in a process of its own, so that only the driver's memory is measured here.
    const services = new URL('../../test/helpers/services.ts', import.meta.url).href
    const child = spawn(process.execPath, ['--input-type=module', '-e',
      `import { startS3 } from ${JSON.stringify(services)}; const s3 = await startS3(); console.log(JSON.stringify({ endpoint: s3.endpoint, bucket: s3.bucket })); process.once('SIGTERM', () => s3.close().then(() => process.exit(0)))`],
    { stdio: ['ignore', 'pipe', 'inherit'] })
    try {
      const [line] = await once(child.stdout, 'data') as [Buffer]
      const remote = JSON.parse(line.toString()) as { endpoint: string, bucket: string }
      const location: S3Location = { bucket: remote.bucket, prefix: 'memory', endpoint: remote.endpoint, forcePathStyle: true, region: 'us-east-1' }
      const remoteStorage = s3Storage(s3Client(location), location, { partSize: 5 * MiB, queueSize: 2 })
      const id = randomUUID()
      // Live memory, not garbage: collect before each sample.
      v8.setFlagsFromString('--expose-gc')
      const gc = runInNewContext('gc') as () => void
      gc()
      let base = process.memoryUsage().arrayBuffers
      let peak = 0
      const sample = async (sent: number) => {
        if (sent % (2 * MiB) !== 0) return
        gc()
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - base)
      }
      await remoteStorage.write(id, Readable.from(generated(96 * MiB, 256 * 1024, sample)))
      // The part being filled and two in flight: 15 MiB; holding the object would take 96.
      assert.ok(peak < 32 * MiB, `live external memory grew by ${(peak / MiB).toFixed(1)} MiB while writing`)
      const writePeak = peak
      gc()
      base = process.memoryUsage().arrayBuffers
      peak = 0
      let read = 0
      for await (const chunk of remoteStorage.read(id)) {
        const before = read
        read += (chunk as Buffer).length
        if (Math.floor(read / (2 * MiB)) > Math.floor(before / (2 * MiB))) await sample(2 * MiB)
      }
      assert.equal(read, 96 * MiB)
      assert.ok(peak < 8 * MiB, `live external memory grew by ${(peak / MiB).toFixed(1)} MiB while reading`)
      test.diagnostic(`96 MiB object: live external memory +${(writePeak / MiB).toFixed(1)} MiB at most while writing, +${(peak / MiB).toFixed(1)} MiB while reading`)
    } finally {
      child.kill('SIGTERM')
      if (child.exitCode === null) await once(child, 'exit')
    }
  })

  it('aborts the multipart upload of a source that fails after some parts: no object, nothing to sweep', async () => {
    const id = randomUUID()
    const failing = Readable.from((async function * () {
      yield * generated(11 * MiB)
      throw new Error('client went away')
    })())
    await assert.rejects(storage.write(id, failing), /client went away/)
    assert.equal(await storage.exists(id), false)
    assert.equal(await storage.sweepIncomplete(0), 0)
  })

  it('fails as unavailable when the store goes away mid-write, and leaves no parts once swept', async () => {
    const id = randomUUID()
    let stopped = false
    const source = Readable.from(generated(16 * MiB, 256 * 1024, async (sent) => {
      // Not awaited: s3rver's close waits for the request this very source feeds.
      if (sent >= 7 * MiB && !stopped) { stopped = true; void s3.stop() }
    }))
    const failure = await storage.write(id, source).then(() => undefined, (error: unknown) => error)
    assert.equal(storageFailureKind(failure), 'unavailable', String(failure))
    await s3.start()
    assert.equal(await storage.exists(id), false)
    // Upload aborts its parts when it can still reach the store; what it could not, the sweep does.
    await storage.sweepIncomplete(0)
    const uploads = path.join(s3.directory, s3.bucket, '._S3rver_uploads')
    assert.deepEqual(fs.existsSync(uploads) ? fs.readdirSync(uploads) : [], [])
  })

  it('marks every failure of an unreachable store as unavailable, for reads too', async () => {
    await s3.stop()
    try {
      const id = randomUUID()
      for (const call of [() => storage.stat(id), () => storage.delete(id), () => storage.ping(), () => storage.sweepIncomplete(0), () => storage.write(id, Readable.from([Buffer.from('x')])), () => readAll(storage.read(id))]) {
        assert.equal(storageFailureKind(await call().then(() => undefined, (error: unknown) => error)), 'unavailable')
      }
    } finally {
      await s3.start()
    }
  })
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
