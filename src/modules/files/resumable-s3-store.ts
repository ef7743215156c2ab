import { AsyncLocalStorage } from 'node:async_hooks'
import { PassThrough, type Readable } from 'node:stream'
import type { S3ClientConfig } from '@aws-sdk/client-s3'
import { ERRORS, type Upload } from '@tus/server'
import { S3Store, type MetadataValue } from '@tus/s3-store'
import type { S3ServerSideEncryption } from '../../config/storage-url.ts'
import { encryptWrites } from '../../storage/s3-storage.ts'
import { storageFailure, storageFailureKind } from '../../storage/storage-errors.ts'
import type { Workspace } from '../../storage/storage.ts'
import { stageStream, type Staged } from './staging.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const NOT_FOUND = new Set(['NotFound', 'NoSuchKey', 'NoSuchUpload'])

const isNotFound = (error: unknown) => {
  const { name, Code, $metadata } = error as { name?: string, Code?: string, $metadata?: { httpStatusCode?: number } }
  return NOT_FOUND.has(name ?? '') || NOT_FOUND.has(Code ?? '') || $metadata?.httpStatusCode === 404
}
/**
 * tus's own refusals (ERRORS.*) carry a status for the client, and a full local disk (S3Store
 * buffers parts in the OS temporary directory) is already a storage failure (507); anything
 * else from here is the store failing.
 */
const isTusAnswer = (error: unknown) => typeof (error as { status_code?: unknown }).status_code === 'number'
const marked = (error: unknown) => isTusAnswer(error) || storageFailureKind(error) ? error : storageFailure('unavailable', error)

/**
 * S3Store's metadata cache, kept for one HTTP request only: within it the `.info` object is read
 * once (the ownership check, tus's own lookup and the write each ask for it). Across requests
 * nothing is kept: another API node may have finished or terminated the upload since.
 */
function requestCache (reads: AsyncLocalStorage<Map<string, MetadataValue>>) {
  return {
    get: async (id: string) => reads.getStore()?.get(id),
    set: async (id: string, value: MetadataValue) => { reads.getStore()?.set(id, value) },
    delete: async (id: string) => { reads.getStore()?.delete(id) }
  }
}

type Keyed = { Key?: string, KeyMarker?: string, NextKeyMarker?: string, Prefix?: string, Delete?: { Objects?: { Key?: string }[] }, Uploads?: { Key?: string }[] }

/**
 * tus uploads in the bucket through the official @tus/s3-store, so any API node can take any
 * request of an upload: its state (the `.info` object, the multipart upload, the `.part` of a
 * PATCH that ended short of a part) lives in S3. Keys are `<prefix>/resumable/<upload id>…`:
 * S3Store names keys by the bare id, so a client middleware adds the prefix to every request
 * and takes it off the keys S3 lists back. Every failure of S3 is marked `unavailable` (503).
 */
export class ResumableS3Store extends S3Store {
  readonly #finished = new Map<string, Upload>()
  readonly #workspace: Workspace
  readonly #reads: AsyncLocalStorage<Map<string, MetadataValue>>

  constructor (clientConfig: S3ClientConfig, location: { bucket: string, prefix: string, serverSideEncryption?: S3ServerSideEncryption }, options: { expirationPeriodInMilliseconds: number }, workspace: Workspace) {
    const reads = new AsyncLocalStorage<Map<string, MetadataValue>>()
    super({
      s3ClientConfig: { ...clientConfig, bucket: location.bucket },
      expirationPeriodInMilliseconds: options.expirationPeriodInMilliseconds,
      // Object tags only serve a bucket lifecycle rule; our sweep expires uploads itself.
      useTags: false,
      cache: requestCache(reads)
    })
    this.#reads = reads
    this.#workspace = workspace
    // The upload's parts, `.info` and `.part` are audio or its metadata at rest too.
    encryptWrites(this.client, location.serverSideEncryption)
    const root = `${location.prefix ? `${location.prefix}/` : ''}resumable/`
    const add = (key: string | undefined) => key === undefined ? undefined : `${root}${key}`
    const strip = (key: string | undefined) => key?.startsWith(root) ? key.slice(root.length) : key
    this.client.middlewareStack.add((next, context) => async (args) => {
      const input = { ...(args.input as Keyed) }
      if (input.Key !== undefined) input.Key = add(input.Key)
      if (input.KeyMarker !== undefined) input.KeyMarker = add(input.KeyMarker)
      if (input.Delete?.Objects) input.Delete = { ...input.Delete, Objects: input.Delete.Objects.map((object) => ({ ...object, Key: add(object.Key) })) }
      // The one listing S3Store makes (deleteExpired) is kept to our uploads.
      if (context.commandName === 'ListMultipartUploadsCommand') input.Prefix = root
      const result = await next({ ...args, input })
      const output = result.output as Keyed
      if (output.Uploads) for (const upload of output.Uploads) upload.Key = strip(upload.Key)
      if (output.NextKeyMarker !== undefined) output.NextKeyMarker = strip(output.NextKeyMarker)
      return result
    }, { step: 'initialize', name: 'tympanResumablePrefix' })
  }

  protected override async getMetadata (id: string): Promise<MetadataValue> {
    if (!UUID.test(id)) throw ERRORS.FILE_NOT_FOUND
    try {
      return await super.getMetadata(id)
    } catch (error) {
      if (isNotFound(error)) throw ERRORS.FILE_NOT_FOUND
      throw marked(error)
    }
  }

  /** As HashingFileStore.getUpload: a finished upload answers until `forget`. */
  override async getUpload (id: string): Promise<Upload> {
    const finished = this.#finished.get(id)
    if (finished) return finished
    return this.#readingOnce(async () => {
      // S3Store reads every failure of the metadata as "not found": tell S3 failing from it.
      await this.getMetadata(id)
      try {
        return await super.getUpload(id)
      } catch (error) {
        throw marked(error)
      }
    })
  }

  /** Within the request's scope, or one of its own outside a request (the GDPR export, the sweep). */
  #readingOnce<T> (handle: () => Promise<T>): Promise<T> {
    return this.#reads.getStore() ? handle() : this.request(handle)
  }

  request<T> (handle: () => Promise<T>): Promise<T> {
    return this.#reads.run(new Map(), handle)
  }

  finished (upload: Upload): void {
    this.#finished.set(upload.id, upload)
  }

  forget (id: string): void {
    this.#finished.delete(id)
  }

  override async create (upload: Upload): Promise<Upload> {
    try {
      return await super.create(upload)
    } catch (error) {
      throw marked(error)
    }
  }

  /**
   * A body that fails part-way (the client went away) ends there, as it does on local disk:
   * what arrived is stored and counted, and the answer is tus's FILE_WRITE_ERROR. Handed the
   * failing stream itself, S3Store would drop the part it was buffering, and with it the
   * previous PATCH's `.part` it had taken in: the offset would go back.
   */
  override async write (readable: Readable, id: string, offset: number): Promise<number> {
    let failed = false
    const body = new PassThrough()
    readable.once('error', () => {
      failed = true
      if (!body.destroyed) body.end()
    })
    readable.pipe(body)
    let written: number
    try {
      written = await super.write(body, id, offset)
    } catch (error) {
      throw marked(error)
    }
    if (failed) throw ERRORS.FILE_WRITE_ERROR
    return written
  }

  /** Termination: the multipart upload aborted, the object, `.info` and `.part` deleted. */
  override async remove (id: string): Promise<void> {
    await this.#readingOnce(async () => {
      await this.getMetadata(id)
      await this.discard(id)
    })
  }

  /** Removes whatever of upload `id` is still in the bucket; quiet when nothing is. */
  async discard (id: string): Promise<void> {
    if (!UUID.test(id)) return
    const uploadId = await this.getMetadata(id).then((metadata) => metadata['upload-id'], (error: unknown) => {
      if (error === ERRORS.FILE_NOT_FOUND) return undefined
      throw error
    })
    try {
      if (uploadId) {
        await this.client.abortMultipartUpload({ Bucket: this.bucket, Key: id, UploadId: uploadId }).catch((error: unknown) => {
          if (!isNotFound(error)) throw error
        })
      }
      await this.client.deleteObjects({ Bucket: this.bucket, Delete: { Objects: [{ Key: id }, { Key: this.infoKey(id) }, { Key: this.partKey(id, true) }] } })
      await this.clearCache(id)
    } catch (error) {
      throw marked(error)
    }
  }

  /**
   * The completed upload downloaded once into staging (hashed on the way) for the checks,
   * then removed from the bucket: what is kept is re-put as a Tympan object by `accept`.
   */
  async collect (upload: Upload): Promise<Staged> {
    if (upload.size === undefined) throw new Error('a completed upload without a size')
    let staged: Staged
    try {
      staged = await stageStream(this.#workspace, await this.read(upload.id), upload.size)
    } catch (error) {
      // Refused as a whole, as on local storage; if S3 is what failed, this may fail too,
      // and the sweep's deleteExpired takes what is left.
      await this.discard(upload.id).catch(() => {})
      throw storageFailureKind(error) ? error : storageFailure('unavailable', error)
    }
    try {
      await this.discard(upload.id)
    } catch (error) {
      await this.#workspace.remove(staged.path)
      throw error
    }
    return staged
  }

  override async deleteExpired (): Promise<number> {
    try {
      return await super.deleteExpired()
    } catch (error) {
      throw marked(error)
    }
  }
}
