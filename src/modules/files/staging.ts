import { createHash } from 'node:crypto'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { rejectedFor } from '../../observability/metrics.ts'
import type { Workspace } from '../../storage/storage.ts'

/** Bytes received but not yet accepted: a workspace file, stored as an object only once checked. */
export interface Staged {
  path: string
  size: number
  sha256: string
}

export const STAGING = 'staging'

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
export async function stageStream (workspace: Workspace, source: Readable, maxBytes: number): Promise<Staged> {
  const staged = await workspace.createFile(STAGING)
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
    await workspace.remove(staged.path)
    throw error
  }
  return { path: staged.path, size, sha256: hash.digest('hex') }
}

/** Size and SHA-256 of a file already staged by another writer (resumable uploads, imports). */
export async function describeStaged (workspace: Pick<Workspace, 'reader'>, stagedPath: string): Promise<Staged> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of workspace.reader(stagedPath)) {
    size += (chunk as Buffer).length
    hash.update(chunk as Buffer)
  }
  return { path: stagedPath, size, sha256: hash.digest('hex') }
}
