import { createHash, randomUUID } from 'node:crypto'
import { Transform, type Readable } from 'node:stream'
import { finished, pipeline } from 'node:stream/promises'
import { rejectedFor } from '../../observability/metrics.ts'
import type { IncomingObject, Storage, Workspace } from '../../storage/storage.ts'
import { writeBehind } from '../../storage/write-behind.ts'

/** Bytes received but not yet accepted: a workspace file, stored as an object only once checked. */
export interface Staged {
  path: string
  size: number
  sha256: string
  /**
   * The same bytes written as object `id` while they arrived (Storage.receive), committed
   * instead of storing the file once it is accepted, discarded with it otherwise.
   */
  receiving?: { id: string, object: IncomingObject }
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
 * file is removed, as on any other failure. With a store that can receive (Storage.receive),
 * the bytes also go to a new object as they arrive, at the pace of the slower of the two.
 */
export async function stageStream (workspace: Workspace, source: Readable, maxBytes: number, storage?: Pick<Storage, 'receive'>): Promise<Staged> {
  const staged = await workspace.createFile(STAGING)
  let receiving: Staged['receiving']
  try {
    const id = randomUUID()
    const object = await storage?.receive?.(id)
    receiving = object && { id, object }
  } catch (error) {
    staged.stream.destroy()
    await workspace.remove(staged.path)
    throw error
  }
  const copy = receiving?.object.stream
  // A file that will be stored as it is goes to disk while it arrives (Workspace.flushAhead);
  // one received as an object need not reach the disk at all.
  const behind = receiving ? undefined : writeBehind(() => workspace.flushAhead(staged.path))
  const hash = createHash('sha256')
  let size = 0
  const meter = new Transform({
    transform (chunk: Buffer, _encoding, done) {
      size += chunk.length
      if (size > maxBytes) return done(new StagingLimitError(maxBytes))
      hash.update(chunk)
      behind?.wrote(chunk.length)
      if (!copy || copy.write(chunk)) return done(null, chunk)
      copy.once('drain', () => { done(null, chunk) })
    }
  })
  copy?.once('error', (error) => { meter.destroy(error) })
  try {
    await pipeline(source, meter, staged.stream)
    if (copy) await finished(copy.end())
    await behind?.done()
  } catch (error) {
    staged.stream.destroy()
    await behind?.done().catch(() => {})
    await Promise.all([workspace.remove(staged.path), receiving?.object.discard()])
    throw error
  }
  return { path: staged.path, size, sha256: hash.digest('hex'), ...(receiving ? { receiving } : {}) }
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
