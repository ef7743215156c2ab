import { createHash, type Hash } from 'node:crypto'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { FileStore } from '@tus/file-store'
import { type DataStore, ERRORS, type Upload } from '@tus/server'
import type { Config } from '../../config/config.ts'
import { s3ClientConfig } from '../../storage/s3-storage.ts'
import { storageFailureKind } from '../../storage/storage-errors.ts'
import type { Workspace } from '../../storage/storage.ts'
import { writeBehind } from '../../storage/write-behind.ts'
import { ResumableS3Store } from './resumable-s3-store.ts'
import { describeStaged, STAGING, type Staged } from './staging.ts'

/** What resumable.service needs of the tus data store, on local disk or in S3. */
export interface ResumableStore extends DataStore {
  getUpload: (id: string) => Promise<Upload>
  deleteExpired: () => Promise<number>
  /** Until `forget`, a finished upload is still answered (tus reads it once more after the finish hook). */
  finished: (upload: Upload) => void
  forget: (id: string) => void
  /** Runs the store calls of one HTTP request (the S3 store reads an upload's metadata once in it). */
  request: <T>(handle: () => Promise<T>) => Promise<T>
  /** Removes an upload's bytes and tus metadata, whichever of them still exist. */
  discard: (id: string) => Promise<void>
  /** A completed upload's bytes as a staged file, its tus record gone. */
  collect: (upload: Upload) => Promise<Staged>
}

/**
 * tus's file store, writing each PATCH with a 1 MiB buffer (the stock store uses 16 KiB
 * writes) and hashing the bytes as they arrive, so a finished upload need not be read
 * again to learn its SHA-256. The running hash lives in this process only: after a restart,
 * or any PATCH that did not continue exactly where the hash stopped, it is dropped and the
 * file is hashed once at the end instead.
 */
export class HashingFileStore extends FileStore implements ResumableStore {
  readonly #hashes = new Map<string, { hash: Hash, bytes: number }>()
  readonly #finished = new Map<string, Upload>()
  readonly #files: Pick<Workspace, 'writer' | 'remove' | 'move' | 'reader' | 'flushAhead'>

  constructor (options: ConstructorParameters<typeof FileStore>[0], files: Pick<Workspace, 'writer' | 'remove' | 'move' | 'reader' | 'flushAhead'>) {
    super(options)
    this.#files = files
  }

  /**
   * A finished upload has left the store (its bytes are a file now, its metadata deleted),
   * but tus's POST handler reads it once more after the finish hook of a creation-with-upload
   * (for Upload-Expires): that read answers the finished upload until `forget`.
   */
  override async getUpload (id: string): Promise<Upload> {
    return this.#finished.get(id) ?? super.getUpload(id)
  }

  finished (upload: Upload): void {
    this.#finished.set(upload.id, upload)
  }

  forget (id: string): void {
    this.#finished.delete(id)
  }

  /** The metadata is a file beside the bytes: nothing to keep for a request. */
  request<T> (handle: () => Promise<T>): Promise<T> {
    return handle()
  }

  override async write (readable: Readable, id: string, offset: number): Promise<number> {
    let state = this.#hashes.get(id)
    if (offset === 0) {
      state = { hash: createHash('sha256'), bytes: 0 }
      this.#hashes.set(id, state)
    } else if (state && state.bytes !== offset) {
      this.#hashes.delete(id)
      state = undefined
    }
    let received = 0
    const file = this.resolveData(id)
    // The finished upload is stored by a rename: its bytes go to disk while they arrive.
    const behind = writeBehind(() => this.#files.flushAhead(file))
    const meter = new Transform({
      transform (chunk: Buffer, _encoding, done) {
        received += chunk.length
        state?.hash.update(chunk)
        behind.wrote(chunk.length)
        done(null, chunk)
      }
    })
    try {
      await pipeline(readable, meter, await this.#files.writer(file, { start: offset }))
      await behind.done()
    } catch (error) {
      await behind.done().catch(() => {})
      // Bytes hashed may not all have reached the disk: only a full re-read can tell now.
      this.#hashes.delete(id)
      // A full disk is the server's condition, answered 507; anything else tus's own 500.
      throw storageFailureKind(error) ? error : ERRORS.FILE_WRITE_ERROR
    }
    if (state) state.bytes += received
    return offset + received
  }

  /** The SHA-256 of a finished upload of `size` bytes, if it was hashed while written. */
  takeDigest (id: string, size: number): string | undefined {
    const state = this.#hashes.get(id)
    this.#hashes.delete(id)
    return state && state.bytes === size ? state.hash.digest('hex') : undefined
  }

  override async remove (id: string): Promise<void> {
    this.#hashes.delete(id)
    await super.remove(id)
  }

  /**
   * Removes an upload's bytes and tus metadata, whichever of them still exist (`remove`
   * fails when the data file has already gone, and then leaves the metadata behind).
   */
  async discard (id: string): Promise<void> {
    this.#hashes.delete(id)
    const data = this.resolveData(id)
    await this.#files.remove(data)
    // The stock configstore keeps the metadata beside the data, as <id>.json.
    await this.#files.remove(`${data}.json`)
  }

  /** The data file moved into staging (a rename), hashed only if it was not while written. */
  async collect (upload: Upload): Promise<Staged> {
    const digest = upload.size !== undefined ? this.takeDigest(upload.id, upload.size) : undefined
    const stagedPath = await this.#files.move(this.resolveData(upload.id), STAGING)
    const staged = digest ? { path: stagedPath, size: upload.size as number, sha256: digest } : await describeStaged(this.#files, stagedPath)
    await this.configstore.delete(upload.id)
    return staged
  }

  /** Where the bytes of upload `id` are: a workspace file. */
  resolveData (id: string): string {
    // The stock store keeps data at <directory>/<id>; ids are our UUIDs (namingFunction).
    if (!/^[0-9a-f-]{36}$/.test(id)) throw ERRORS.FILE_NOT_FOUND
    return `${this.directory}/${id}`
  }
}

/**
 * The tus data store, created once per process (the FileStore's constructor starts an mkdir
 * it never awaits, so building one per use would leave stray I/O behind). On S3 storage
 * uploads live in the bucket, so any API node can take any request of one; otherwise in the
 * local workspace.
 */
export function resumableStore (workspace: Workspace, config: Pick<Config, 'intake' | 'storage'>): () => Promise<ResumableStore> {
  let store: Promise<ResumableStore> | undefined
  const expirationPeriodInMilliseconds = config.intake.resumableExpiryMs
  const target = config.storage
  return () => {
    store ??= target.driver === 's3'
      ? Promise.resolve(new ResumableS3Store(s3ClientConfig(target), target, { expirationPeriodInMilliseconds }, workspace))
      : workspace.dir('resumable').then((directory) => new HashingFileStore({ directory, expirationPeriodInMilliseconds }, workspace))
    return store
  }
}
