import { pipeline } from 'node:stream/promises'
import { masterKey, type StorageKeyring } from './encrypted-storage.ts'
import { unwrapObjectKey, wrapObjectKey } from './encryption-format.ts'
import type { ObjectKeyRow, ObjectKeysRepository } from './object-keys.repository.ts'
import type { Storage, Workspace } from './storage.ts'

export interface RotationDeps {
  keys: StorageKeyring
  objectKeys: Pick<ObjectKeysRepository, 'notUnder' | 'rewrap' | 'plaintext'>
  /** The driver itself: plaintext objects are read from it as they are. */
  stored: Pick<Storage, 'exists' | 'read'>
  /** The workspace over the encrypted store: `store` writes an object encrypted. */
  workspace: Pick<Workspace, 'createFile' | 'store' | 'remove'>
  pageSize?: number
  /** Called after each page, for progress lines. */
  onPage?: (summary: RotationSummary) => void
  /** Called for each key row that cannot be re-wrapped (why, never a key); the run goes on. */
  onFailure?: (objectId: string, reason: string) => void
  /**
   * Stops the run between two objects (Ctrl-C): never between a plaintext object's new key row
   * and its encrypted bytes, where a killed process would leave the object unreadable.
   */
  signal?: AbortSignal
}

export interface RotationSummary {
  /** Key rows moved from an older master key to the current one (no object rewritten). */
  rewrapped: number
  /** Objects written before encryption was on, now encrypted. */
  encrypted: number
  /** Rows of files or job_artifacts whose object is not in the store (nothing to encrypt). */
  absent: number
  /**
   * Key rows that do not unwrap (corrupt, or under a master key not configured), reported
   * through `onFailure` and left as they are: their objects still need the old key.
   */
  failed: number
  /** Whether `signal` stopped the run before the end; running it again goes on. */
  stopped: boolean
}

function rewrapped (keys: StorageKeyring, row: ObjectKeyRow): Buffer {
  const objectKey = unwrapObjectKey(masterKey(keys, row.keyId, row.objectId), row.keyId, row.objectId, row.wrapped)
  try {
    return wrapObjectKey(keys.current.secret, keys.current.id, row.objectId, objectKey)
  } finally {
    objectKey.fill(0)
  }
}

/** A missing master key comes marked as a storage failure: its cause says which key. */
const reasonOf = (error: unknown): string => {
  const { message, cause } = error as Error
  return cause instanceof Error ? cause.message : message
}

/**
 * `tympan admin rotate-storage-key`: every key row under an older master key is re-wrapped
 * under the current one, and every object that rows name but that has no key (written before
 * STORAGE_ENCRYPTION_KEY was set) is encrypted. Page by page in id order, each step on its
 * own, so a run that stops is resumed by running it again and a finished one finds nothing.
 */
export async function rotateStorageKeys (deps: RotationDeps): Promise<RotationSummary> {
  const { keys, objectKeys } = deps
  const pageSize = deps.pageSize ?? 500
  const summary: RotationSummary = { rewrapped: 0, encrypted: 0, absent: 0, failed: 0, stopped: false }
  const stopping = () => (summary.stopped ||= deps.signal?.aborted ?? false)

  for (let after: string | undefined, more = true; more && !stopping();) {
    const rows = await objectKeys.notUnder(keys.current.id, after, pageSize)
    for (const row of rows) {
      let wrapped: Buffer
      try {
        wrapped = rewrapped(keys, row)
      } catch (error) {
        // One bad row must not hold back all the others; the next run reports it again.
        summary.failed++
        deps.onFailure?.(row.objectId, reasonOf(error))
        continue
      }
      // False: a concurrent run re-wrapped it first, which is the same outcome.
      if (await objectKeys.rewrap(row.objectId, row.keyId, { keyId: keys.current.id, wrapped })) summary.rewrapped++
    }
    after = rows.at(-1)?.objectId
    more = rows.length === pageSize
    deps.onPage?.({ ...summary })
  }

  // Each plaintext object is copied into staging first (the sweep clears what a crash leaves
  // there): reading an object while writing its replacement under the same name is safe on
  // local disk (the rename keeps the open file) but not on every S3-compatible store. Between
  // its key row and its new bytes, a read of the object fails rather than serve it unchecked:
  // a moment's 503, never a wrong answer.
  for (let after: string | undefined, more = true; more && !stopping();) {
    const ids = await objectKeys.plaintext(after, pageSize)
    for (const id of ids) {
      if (stopping()) return summary
      if (!await deps.stored.exists(id)) {
        summary.absent++
        continue
      }
      const copy = await deps.workspace.createFile('staging')
      try {
        await pipeline(deps.stored.read(id), copy.stream)
        await deps.workspace.store(copy.path, id)
      } finally {
        await deps.workspace.remove(copy.path)
      }
      summary.encrypted++
    }
    after = ids.at(-1)
    more = ids.length === pageSize
    deps.onPage?.({ ...summary })
  }
  return summary
}
