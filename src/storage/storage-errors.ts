/**
 * Failures of the file storage itself (not of the client's request), marked on the error so
 * that the HTTP edge can answer 503 or 507 without knowing the driver: the mark travels
 * through services, tus and the job runner unchanged. The key is a registered symbol, read
 * by src/http/storage-problem.ts, which may not import this layer.
 */
export const STORAGE_FAILURE = Symbol.for('tympan.storage-failure')

/** `unavailable`: the object store did not answer or failed; `full`: no space left on local disk. */
export type StorageFailureKind = 'unavailable' | 'full'

/** Marks `cause` as a storage failure, keeping it as the cause: its text goes to the log, never to a client. */
export function storageFailure (kind: StorageFailureKind, cause: unknown): Error {
  const error = new Error(kind === 'full' ? 'insufficient storage' : 'storage unavailable', { cause })
  Object.defineProperty(error, STORAGE_FAILURE, { value: kind, enumerable: false })
  return error
}

const FULL_CODES = new Set(['ENOSPC', 'EDQUOT'])

/**
 * Pure: the storage failure `error` stands for, if any. A marked error, or a local disk
 * refusing a write anywhere in the cause chain (the workspace and tus's file store raise
 * plain errno errors, and tus wraps them).
 */
export function storageFailureKind (error: unknown): StorageFailureKind | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth++) {
    const marked = (current as { [STORAGE_FAILURE]?: StorageFailureKind })[STORAGE_FAILURE]
    if (marked) return marked
    const code = (current as NodeJS.ErrnoException).code
    if (typeof code === 'string' && FULL_CODES.has(code)) return 'full'
  }
  return undefined
}
