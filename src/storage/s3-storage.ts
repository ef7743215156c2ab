import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { pipeline, Readable } from 'node:stream'
import {
  AbortMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand,
  ListMultipartUploadsCommand, type ListMultipartUploadsCommandOutput, S3Client, type S3ClientConfig,
  ListObjectsV2Command, type ListObjectsV2CommandOutput
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import type { S3ServerSideEncryption } from '../config/storage-url.ts'
import { byteMeter } from './byte-meter.ts'
import { storageFailure } from './storage-errors.ts'
import type { Storage } from './storage.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export interface S3Location {
  bucket: string
  /** Key prefix without slashes at either end; '' for the bucket's root. */
  prefix: string
  endpoint: string
  forcePathStyle: boolean
  /** '' leaves the region to the SDK's default chain (AWS_REGION, the profile). */
  region: string
  /** S3_SSE: asked of S3 on every write (encryptWrites). */
  serverSideEncryption?: S3ServerSideEncryption
}

/**
 * A client for AWS S3 or a compatible store. Credentials come from the SDK's default chain
 * (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, instance roles): Tympan never
 * reads them itself, so they are never in its config or logs.
 */
export function s3Client (location: S3Location): S3Client {
  const client = new S3Client(s3ClientConfig(location))
  encryptWrites(client, location.serverSideEncryption)
  return client
}

// The requests that create an object, and so carry the encryption headers. Parts of a
// multipart upload take them from CreateMultipartUpload (S3 refuses them on UploadPart).
const WRITES = new Set(['PutObjectCommand', 'CreateMultipartUploadCommand', 'CopyObjectCommand'])

/**
 * Adds S3_SSE's parameters to every request of `client` that creates an object, whoever sends
 * it: this driver, lib-storage's Upload (one PutObject or a multipart upload) and tus's
 * S3Store (which builds its own client, so it calls this too). A middleware rather than a
 * parameter at each call: a write that a library adds later is covered as well.
 */
export function encryptWrites (client: Pick<S3Client, 'middlewareStack'>, encryption: S3ServerSideEncryption | undefined): void {
  if (!encryption) return
  client.middlewareStack.add((next, context) => async (args) => {
    if (!WRITES.has(context.commandName ?? '')) return await next(args)
    return await next({ ...args, input: { ...args.input, ...encryption } as typeof args.input })
  }, { step: 'initialize', name: 'tympanServerSideEncryption' })
}

/** The settings of `s3Client`, for a library that builds its own client (tus's S3Store). */
export function s3ClientConfig (location: S3Location): S3ClientConfig {
  return {
    ...(location.endpoint ? { endpoint: location.endpoint } : {}),
    ...(location.region ? { region: location.region } : {}),
    forcePathStyle: location.forcePathStyle,
    // s3rver and older releases of several S3 clones refuse the aws-chunked bodies with
    // trailing checksums the SDK sends by default since early 2025; checksums only where an
    // operation requires them works everywhere (TLS protects the bytes in transit).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // No default connect timeout: a black-holed endpoint would hang uploads for minutes.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 }
  }
}

export interface S3StorageOptions {
  /** Bytes buffered per part; S3's minimum is 5 MiB. Memory per write is about (queueSize + 1) × partSize. */
  partSize?: number
  /** Parts uploaded at once per write. */
  queueSize?: number
  /** Keys per ListObjectsV2 page in listOlderThan; S3's own maximum (1000) unless a test pages sooner. */
  listPageSize?: number
}

const isNotFound = (error: unknown) => {
  const { name, $metadata } = error as { name?: string, $metadata?: { httpStatusCode?: number } }
  return name === 'NotFound' || name === 'NoSuchKey' || $metadata?.httpStatusCode === 404
}

/**
 * S3 driver: objects are `<prefix>/objects/<uuid>`, written by lib-storage's Upload (one
 * PutObject below a part, otherwise a multipart upload, which S3 completes atomically and
 * Upload aborts on failure). Memory stays bounded by the part size whatever the object's
 * size. A process killed mid-write leaves a multipart upload that sweepIncomplete aborts.
 * Every failure of the store itself is marked `unavailable` (a 503 at the edge).
 */
export function s3Storage (client: S3Client, location: Pick<S3Location, 'bucket' | 'prefix'>, options: S3StorageOptions = {}): Storage {
  const Bucket = location.bucket
  const objectsPrefix = `${location.prefix ? `${location.prefix}/` : ''}objects/`
  const partSize = options.partSize ?? 8 * 1024 * 1024
  const queueSize = options.queueSize ?? 2

  const keyOf = (id: string) => {
    if (!UUID.test(id)) throw new Error(`invalid object id ${JSON.stringify(id)}`)
    return `${objectsPrefix}${id}`
  }
  const send = async <T>(request: Promise<T>): Promise<T> => {
    try {
      return await request
    } catch (error) {
      throw storageFailure('unavailable', error)
    }
  }

  const storage: Storage = {
    async write (id, source, options) {
      const Key = keyOf(id)
      const { stream: meter, written } = byteMeter(options)
      // Upload reads `meter`; a failing source makes the pipeline destroy it with that error.
      pipeline(source, meter, () => {})
      const upload = new Upload({ client, params: { Bucket, Key, Body: meter, ContentType: 'application/octet-stream' }, partSize, queueSize, leavePartsOnError: false })
      try {
        await upload.done()
      } catch (error) {
        // Errored with the source's error: the source failed (a client cut off, a limit),
        // not the store. An AbortError is Upload's own reader giving up after a failed part.
        const sourceError = meter.errored
        meter.destroy()
        if (sourceError && sourceError.name !== 'AbortError') throw sourceError
        throw storageFailure('unavailable', error)
      }
      return written()
    },
    async put (id, file) {
      if (!path.isAbsolute(file)) throw new Error('not a local file')
      await storage.write(id, fs.createReadStream(file))
      await fsp.rm(file, { force: true })
    },
    read (id, range) {
      const Key = keyOf(id)
      async function * body () {
        const response = await send(client.send(new GetObjectCommand({ Bucket, Key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) })))
        // Some S3 clones answer a range they mishandle (s3rver: `bytes=0-0`) with the whole
        // object; the HTTP edge has already promised exactly these bytes, so cut them out here.
        const served = range ? Number(/^bytes (\d+)-/.exec(response.ContentRange ?? '')?.[1] ?? 0) : 0
        if (range && served > range.start) throw storageFailure('unavailable', new Error(`asked for bytes from ${range.start}, got ${response.ContentRange}`))
        let skip = range ? range.start - served : 0
        let left = range ? range.end - range.start + 1 : Number.POSITIVE_INFINITY
        try {
          for await (const chunk of response.Body as Readable) {
            const bytes = (chunk as Buffer).subarray(skip, skip + left)
            skip = Math.max(0, skip - (chunk as Buffer).length)
            left -= bytes.length
            if (bytes.length > 0) yield bytes
            if (left <= 0) break
          }
        } catch (error) {
          throw storageFailure('unavailable', error)
        }
      }
      return Readable.from(body(), { objectMode: false })
    },
    async stat (id) {
      const Key = keyOf(id)
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket, Key }))
        return { size: head.ContentLength ?? 0 }
      } catch (error) {
        if (isNotFound(error)) return undefined
        throw storageFailure('unavailable', error)
      }
    },
    async exists (id) {
      return await storage.stat(id) !== undefined
    },
    async delete (id) {
      await send(client.send(new DeleteObjectCommand({ Bucket, Key: keyOf(id) })))
    },
    async localPath (id) {
      keyOf(id)
      return undefined
    },
    async sweepIncomplete (olderThanMs) {
      const cutoff = Date.now() - olderThanMs
      let removed = 0
      for (let marker: { KeyMarker?: string, UploadIdMarker?: string } | undefined = {}; marker;) {
        const page: ListMultipartUploadsCommandOutput = await send(client.send(new ListMultipartUploadsCommand({ Bucket, Prefix: objectsPrefix, ...marker })))
        for (const upload of page.Uploads ?? []) {
          if (!upload.Key || !upload.UploadId || !upload.Initiated || upload.Initiated.getTime() >= cutoff) continue
          await send(client.send(new AbortMultipartUploadCommand({ Bucket, Key: upload.Key, UploadId: upload.UploadId })))
          removed++
        }
        marker = page.IsTruncated && page.NextKeyMarker ? { KeyMarker: page.NextKeyMarker, ...(page.NextUploadIdMarker ? { UploadIdMarker: page.NextUploadIdMarker } : {}) } : undefined
      }
      return removed
    },
    async * listOlderThan (olderThanMs) {
      const cutoff = Date.now() - olderThanMs
      for (let token: string | undefined, more = true; more;) {
        const page: ListObjectsV2CommandOutput = await send(client.send(new ListObjectsV2Command({ Bucket, Prefix: objectsPrefix, ...(options.listPageSize ? { MaxKeys: options.listPageSize } : {}), ...(token ? { ContinuationToken: token } : {}) })))
        for (const object of page.Contents ?? []) {
          const id = object.Key?.slice(objectsPrefix.length) ?? ''
          // A key this driver did not give out (put there by hand) is not an object.
          if (UUID.test(id) && object.LastModified && object.LastModified.getTime() < cutoff) yield id
        }
        token = page.NextContinuationToken
        more = page.IsTruncated === true && token !== undefined
      }
    },
    async ping () {
      await send(client.send(new HeadBucketCommand({ Bucket })))
    }
  }
  return storage
}
