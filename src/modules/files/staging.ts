import { createHash } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { rejectedFor } from '../../observability/metrics.ts'
import type { Storage } from '../../storage/storage.ts'

export interface Staged {
  path: string
  size: number
  sha256: string
}

export class StagingLimitError extends Error {
  override name = 'StagingLimitError'
  readonly limit: number
  constructor (limit: number) {
    super(`more than ${limit} bytes`)
    this.limit = limit
    rejectedFor('size', this)
  }
}

/**
 * Streams bytes into a staged file while counting and hashing them; nothing is held in
 * memory. Past `maxBytes` the stream fails at once (the client is cut off) and the partial
 * file is removed, as on any other failure.
 */
export async function stageStream (storage: Storage, source: Readable, maxBytes: number): Promise<Staged> {
  const staged = await storage.stage()
  const hash = createHash('sha256')
  let size = 0
  const meter = new Transform({
    transform (chunk: Buffer, _encoding, done) {
      size += chunk.length
      if (size > maxBytes) return done(new StagingLimitError(maxBytes))
      hash.update(chunk)
      done(null, chunk)
    }
  })
  try {
    await pipeline(source, meter, staged.stream)
  } catch (error) {
    staged.stream.destroy()
    await storage.discard(staged.path)
    throw error
  }
  return { path: staged.path, size, sha256: hash.digest('hex') }
}

/** Size and SHA-256 of a file already staged by another writer (resumable uploads, imports). */
export async function describeStaged (stagedPath: string): Promise<Staged> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of fs.createReadStream(stagedPath)) {
    size += (chunk as Buffer).length
    hash.update(chunk as Buffer)
  }
  return { path: stagedPath, size, sha256: hash.digest('hex') }
}

/**
 * Runs `use` with a positional reader of a staged file (fewer bytes come back past its end),
 * for header checks that walk a file by offset without reading it whole.
 */
export async function withReader<T> (stagedPath: string, use: (readAt: (offset: number, length: number) => Promise<Buffer>) => Promise<T>): Promise<T> {
  const handle = await fsp.open(stagedPath, 'r')
  try {
    return await use(async (offset, length) => {
      const buffer = Buffer.alloc(length)
      const { bytesRead } = await handle.read(buffer, 0, length, offset)
      return buffer.subarray(0, bytesRead)
    })
  } finally {
    await handle.close()
  }
}
