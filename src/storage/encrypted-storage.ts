import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { PassThrough, Writable, pipeline, type Readable } from 'node:stream'
import type { StorageKey } from '../config/storage-encryption.ts'
import { byteMeter } from './byte-meter.ts'
import { ObjectIntegrityError, chunkSpan, plaintextSize, unwrapObjectKey, wrapObjectKey } from './encryption-format.ts'
import { decryptingStream, encryptingStream } from './encryption-streams.ts'
import type { ObjectKeysRepository } from './object-keys.repository.ts'
import { storageFailure } from './storage-errors.ts'
import type { ByteRange, Storage } from './storage.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** The master keys: new objects under `current`, older rows unwrapped by whichever key they name. */
export interface StorageKeyring {
  current: StorageKey
  previous: readonly StorageKey[]
}

export type ObjectKeys = Pick<ObjectKeysRepository, 'insert' | 'find' | 'delete'>

/** The master key of `keyId`, or a failure that names the id (never a key). */
export function masterKey (keys: StorageKeyring, keyId: string, objectId: string): KeyObject {
  const key = keys.current.id === keyId ? keys.current : keys.previous.find((k) => k.id === keyId)
  if (!key) throw storageFailure('unavailable', new Error(`object ${objectId} is encrypted with key ${keyId}, which is not configured (STORAGE_ENCRYPTION_PREVIOUS_KEYS)`))
  return key.secret
}

// A tampered object is the store failing, not the client: answered as a storage failure
// (503), its detail only in the log.
const marked = (error: unknown) => error instanceof ObjectIntegrityError ? storageFailure('unavailable', error) : error

const missing = (id: string) => Object.assign(new Error(`object ${id} does not exist`), { code: 'ENOENT' })

/**
 * Encryption at rest over any driver (docs/security.md, "Encryption at rest"): the same
 * Storage contract, with every object written in the chunked format of encryption-format.ts
 * under a key of its own, wrapped by the master key in `object_keys`. The row is written
 * before the object and removed after it, so a reader never finds an encrypted object
 * without its key. An object with no row was written before encryption was on and is read
 * as it is: whoever can write the store cannot add rows, so an encrypted object cannot be
 * swapped for a plaintext one. Range reads decrypt only the chunks they cover.
 */
export function encryptedStorage (inner: Storage, keys: StorageKeyring, objectKeys: ObjectKeys): Storage {
  const checkId = (id: string) => {
    if (!UUID.test(id)) throw new Error(`invalid object id ${JSON.stringify(id)}`)
  }

  async function objectKey (id: string): Promise<KeyObject | undefined> {
    const row = await objectKeys.find(id)
    if (!row) return undefined
    const bytes = unwrapObjectKey(masterKey(keys, row.keyId, id), row.keyId, id, row.wrapped)
    const key = createSecretKey(bytes)
    bytes.fill(0)
    return key
  }

  /** The stored object as verified plaintext: whole, or the chunks of `range` only. */
  async function decrypted (id: string, key: KeyObject, range: ByteRange | undefined): Promise<Readable> {
    if (!range) return pipeline(inner.read(id), decryptingStream(key, id, { header: true, first: 0 }), () => {})
    const stored = await inner.stat(id)
    if (!stored) throw missing(id)
    const size = plaintextSize(stored.size)
    if (size === undefined) throw new ObjectIntegrityError(`object ${id} has ${stored.size} bytes, which no encrypted object has: it was cut or altered`)
    const span = chunkSpan(range, size)
    if (!span) throw new ObjectIntegrityError(`bytes ${range.start}-${range.end} lie outside object ${id} (${size} bytes): it was cut or altered`)
    return pipeline(inner.read(id, span.stored), decryptingStream(key, id, { header: false, first: span.first, last: span.last, final: span.final, skip: span.skip, take: span.take }), () => {})
  }

  /** A fresh key for object `id`: its row (the key wrapped by the current master key) and the key itself. */
  function newObjectKey (id: string): { row: Parameters<ObjectKeys['insert']>[0], key: KeyObject } {
    checkId(id)
    const bytes = randomBytes(32)
    try {
      return { row: { objectId: id, keyId: keys.current.id, wrapped: wrapObjectKey(keys.current.secret, keys.current.id, id, bytes) }, key: createSecretKey(bytes) }
    } finally {
      bytes.fill(0)
    }
  }

  /** After the write of object `id` failed with `error`: its key row goes too. */
  async function dropKeyRow (id: string, error: unknown): Promise<never> {
    // A key row left behind would make a plaintext object of that id (one being encrypted
    // by rotate-storage-key) unreadable: say so rather than stay quiet.
    await objectKeys.delete(id).catch((cleanup: unknown) => {
      throw new Error(`writing object ${id} failed, and so did removing its key row (${(cleanup as Error).message})`, { cause: error })
    })
    throw error
  }

  // The inner driver counts but does not hash: the plaintext was hashed as it came in, and
  // each chunk's GCM tag authenticates the ciphertext.
  const UNHASHED = { hash: false }

  /** Writes `source` encrypted as object `id`: its key row first, removed again on failure. */
  async function writeEncrypted (id: string, source: Readable): Promise<void> {
    let key: KeyObject
    try {
      const fresh = newObjectKey(id)
      key = fresh.key
      await objectKeys.insert(fresh.row)
    } catch (error) {
      // Nothing reads the source then: close it (put's file stream holds a descriptor).
      source.destroy()
      throw error
    }
    const encrypted = encryptingStream(key, id)
    // The inner driver reads `encrypted`; a failing source destroys it with that error.
    pipeline(source, encrypted, () => {})
    try {
      await inner.write(id, encrypted, UNHASHED)
    } catch (error) {
      encrypted.destroy()
      await dropKeyRow(id, error)
    }
  }

  const storage: Storage = {
    async write (id, source, options) {
      const { stream: meter, written } = byteMeter(options)
      await writeEncrypted(id, pipeline(source, meter, () => {}))
      return written()
    },
    async put (id, file) {
      if (!path.isAbsolute(file)) throw new Error('not a local file')
      // Encrypting is a copy, never the local driver's rename: the workspace file stays
      // plaintext. No hash: put answers nothing, and the file was hashed as it was staged.
      await writeEncrypted(id, fs.createReadStream(file, { highWaterMark: 1 << 20 }))
      await fsp.rm(file, { force: true })
    },
    async receive (id) {
      const { row, key } = newObjectKey(id)
      const encrypted = encryptingStream(key, id)
      // The inner driver makes the object visible once `encrypted` ends, and it ends (sealing
      // the final chunk) only at commit: until then the upload's bytes are written, not stored.
      const writing = inner.write(id, encrypted, UNHASHED)
      const stream = new Writable({
        highWaterMark: 1 << 20,
        write (chunk: Buffer, _encoding, done) {
          if (encrypted.write(chunk)) done()
          else encrypted.once('drain', () => { done() })
        }
      })
      // A failed write (a full disk) fails the upload while it still arrives: the writer to
      // `stream` sees the error, and commit throws it, whoever listens first.
      writing.catch((error: unknown) => { stream.destroy(error as Error) })
      stream.on('error', () => {})
      let settled = false
      return {
        stream,
        async commit () {
          if (stream.errored) throw stream.errored
          if (settled || !stream.writableFinished) throw new Error(`object ${id} is not received whole`)
          settled = true
          try {
            await objectKeys.insert(row)
          } catch (error) {
            encrypted.destroy()
            await writing.catch(() => {})
            throw error
          }
          encrypted.end()
          await writing.catch((error: unknown) => dropKeyRow(id, error))
        },
        async discard () {
          if (settled) return
          settled = true
          stream.destroy()
          encrypted.destroy()
          await writing.catch(() => {})
        }
      }
    },
    read (id, range) {
      checkId(id)
      // A plain pass-through, not Readable.from(an async generator): the download path's
      // throughput is the point here (bench/upload --encrypted).
      const out = new PassThrough({ highWaterMark: 1 << 20 })
      const fail = (error: unknown) => { out.destroy(marked(error) as Error) }
      objectKey(id).then(async (key) => {
        const source = key ? await decrypted(id, key, range) : inner.read(id, range)
        if (out.destroyed) return source.destroy()
        source.once('error', fail)
        out.once('close', () => source.destroy())
        source.pipe(out)
      }).catch(fail)
      return out
    },
    async stat (id) {
      checkId(id)
      const [row, stored] = await Promise.all([objectKeys.find(id), inner.stat(id)])
      if (!row || !stored) return stored
      const size = plaintextSize(stored.size)
      if (size === undefined) throw marked(new ObjectIntegrityError(`object ${id} has ${stored.size} bytes, which no encrypted object has: it was cut or altered`))
      return { size }
    },
    async exists (id) {
      return await storage.stat(id) !== undefined
    },
    async delete (id) {
      checkId(id)
      await inner.delete(id)
      await objectKeys.delete(id)
    },
    async localPath (id) {
      checkId(id)
      // The file on disk is ciphertext: tools get a decrypted copy (Workspace.materialise).
      if (await objectKeys.find(id)) return undefined
      return inner.localPath(id)
    },
    sweepIncomplete: (olderThanMs) => inner.sweepIncomplete(olderThanMs),
    listOlderThan: (olderThanMs) => inner.listOlderThan(olderThanMs),
    ping: () => inner.ping()
  }
  return storage
}
