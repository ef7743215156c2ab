import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto'
import type { ByteRange } from './storage.ts'

/*
 * The encrypted object format (docs/security.md, "Encryption at rest"), written by hand on
 * node:crypto: no maintained JS library offers a streaming AEAD with random access (age's
 * typage and Tink's JS port decrypt from the start only, with no Range reads), and the
 * construction is small. It is the STREAM construction of age and Tink:
 *
 *   header (16 bytes) | chunk 0 | chunk 1 | … | final chunk
 *
 * Each chunk is AES-256-GCM of CHUNK_SIZE plaintext bytes (the final one 0..CHUNK_SIZE)
 * followed by its 16-byte tag, under the object's own random key. The nonce is the chunk's
 * big-endian index and a flag byte that is 1 on the final chunk only, so dropping,
 * reordering or appending chunks fails a tag; the additional data is the header and the
 * object id, so an object copied under another id is refused. An empty object is one empty
 * final chunk. Everything here is pure: no I/O.
 */

export const CHUNK_SIZE = 64 * 1024
export const TAG_SIZE = 16
export const SEGMENT_SIZE = CHUNK_SIZE + TAG_SIZE
export const HEADER_SIZE = 16
const MAGIC = Buffer.from('TYMPANSE', 'latin1')
const VERSION = 1

/** Magic, format version, three reserved zero bytes, the chunk size (u32 BE). */
export const HEADER: Buffer = (() => {
  const header = Buffer.alloc(HEADER_SIZE)
  MAGIC.copy(header, 0)
  header.writeUInt8(VERSION, 8)
  header.writeUInt32BE(CHUNK_SIZE, 12)
  return header
})()

/** An object that fails its checks: altered, truncated, copied from another id, or not of this format. */
export class ObjectIntegrityError extends Error {
  override name = 'ObjectIntegrityError'
}

/** Chunks of an object of `plainSize` bytes: at least one (the empty final chunk of an empty object). */
export const chunkCount = (plainSize: number): number => Math.max(1, Math.ceil(plainSize / CHUNK_SIZE))

export const encryptedSize = (plainSize: number): number => HEADER_SIZE + plainSize + chunkCount(plainSize) * TAG_SIZE

/** The plaintext size of a stored object of `storedSize` bytes, or undefined when no object of this format has that size. */
export function plaintextSize (storedSize: number): number | undefined {
  const body = storedSize - HEADER_SIZE
  if (body < TAG_SIZE) return undefined
  const chunks = Math.ceil(body / SEGMENT_SIZE)
  const last = body - (chunks - 1) * SEGMENT_SIZE
  // Every chunk holds its tag; only an empty object has an empty final chunk (after a full
  // chunk, that chunk is the final one).
  if (chunks > 1 && last <= TAG_SIZE) return undefined
  return body - chunks * TAG_SIZE
}

/** Where chunk `index` starts in the stored object. */
export const chunkOffset = (index: number): number => HEADER_SIZE + index * SEGMENT_SIZE

export interface ChunkSpan {
  first: number
  last: number
  /** The chunk index that is the object's final chunk. */
  final: number
  /** The stored bytes holding chunks first..last (inclusive, as ByteRange). */
  stored: ByteRange
  /** Plaintext bytes to drop from the first chunk, then to keep. */
  skip: number
  take: number
}

/**
 * The chunks that hold plaintext bytes `range` of an object of `plainSize` bytes, and the
 * stored bytes to fetch for them; undefined when the range is not inside the object.
 */
export function chunkSpan (range: ByteRange, plainSize: number): ChunkSpan | undefined {
  if (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end) || range.start < 0 || range.end < range.start || range.end >= plainSize) return undefined
  const first = Math.floor(range.start / CHUNK_SIZE)
  const last = Math.floor(range.end / CHUNK_SIZE)
  const final = chunkCount(plainSize) - 1
  const storedEnd = Math.min(chunkOffset(last + 1), encryptedSize(plainSize)) - 1
  return { first, last, final, stored: { start: chunkOffset(first), end: storedEnd }, skip: range.start - first * CHUNK_SIZE, take: range.end - range.start + 1 }
}

/** 11-byte big-endian chunk index, then the final flag. */
export function chunkNonce (index: number, final: boolean): Buffer {
  const nonce = Buffer.alloc(12)
  nonce.writeUIntBE(index, 5, 6)
  nonce.writeUInt8(final ? 1 : 0, 11)
  return nonce
}

/** What every chunk of object `objectId` is bound to. */
export const chunkAad = (objectId: string): Buffer => Buffer.concat([HEADER, Buffer.from(objectId, 'latin1')])

/** The chunk's ciphertext and its tag, apart: a stream pushes both without copying them together. */
export function sealChunk (key: KeyObject, index: number, final: boolean, aad: Buffer, plaintext: Buffer): [Buffer, Buffer] {
  const cipher = createCipheriv('aes-256-gcm', key, chunkNonce(index, final))
  cipher.setAAD(aad)
  // GCM is a stream mode: update returns every byte, final none.
  const ciphertext = cipher.update(plaintext)
  cipher.final()
  return [ciphertext, cipher.getAuthTag()]
}

/** The chunk's plaintext; throws ObjectIntegrityError when its tag does not verify. */
export function openChunk (key: KeyObject, index: number, final: boolean, aad: Buffer, segment: Buffer): Buffer {
  const parts = openChunkParts(key, index, final, aad, [segment])
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts)
}

/**
 * openChunk over a segment given in pieces (as a stream's buffers cut it), so that nothing
 * is copied together first; the plaintext comes back in pieces too, only once it verified.
 */
export function openChunkParts (key: KeyObject, index: number, final: boolean, aad: Buffer, pieces: Buffer[]): Buffer[] {
  const length = pieces.reduce((sum, piece) => sum + piece.length, 0)
  if (length < TAG_SIZE || length > SEGMENT_SIZE) throw new ObjectIntegrityError(`chunk ${index} has ${length} bytes`)
  const decipher = createDecipheriv('aes-256-gcm', key, chunkNonce(index, final))
  decipher.setAAD(aad)
  const plaintext: Buffer[] = []
  const tag = Buffer.alloc(TAG_SIZE)
  let offset = 0
  for (const piece of pieces) {
    const body = Math.max(0, Math.min(piece.length, length - TAG_SIZE - offset))
    if (body > 0) plaintext.push(decipher.update(piece.subarray(0, body)))
    // The tag is the segment's last 16 bytes, wherever the pieces cut them.
    if (body < piece.length) piece.copy(tag, offset + body - (length - TAG_SIZE), body)
    offset += piece.length
  }
  decipher.setAuthTag(tag)
  try {
    decipher.final()
  } catch {
    throw new ObjectIntegrityError(`chunk ${index}${final ? ' (final)' : ''} failed its authentication tag`)
  }
  return plaintext
}

/*
 * An object's key, wrapped under a master key for its row in object_keys:
 * nonce (12) | AES-256-GCM of the 32-byte key | tag (16). The additional data binds the row
 * to its object and to the master key's id, so a row copied to another object, or relabelled
 * with another key id, does not unwrap.
 */
const WRAP_NONCE = 12
export const WRAPPED_SIZE = WRAP_NONCE + 32 + TAG_SIZE
const wrapAad = (objectId: string, keyId: string) => Buffer.from(`tympan object key v1\0${objectId}\0${keyId}`, 'latin1')

export function wrapObjectKey (master: KeyObject, keyId: string, objectId: string, objectKey: Buffer): Buffer {
  const nonce = randomBytes(WRAP_NONCE)
  const cipher = createCipheriv('aes-256-gcm', master, nonce)
  cipher.setAAD(wrapAad(objectId, keyId))
  return Buffer.concat([nonce, cipher.update(objectKey), cipher.final(), cipher.getAuthTag()])
}

export function unwrapObjectKey (master: KeyObject, keyId: string, objectId: string, wrapped: Buffer): Buffer {
  if (wrapped.length !== WRAPPED_SIZE) throw new ObjectIntegrityError(`the key of object ${objectId} has ${wrapped.length} bytes, not ${WRAPPED_SIZE}`)
  const decipher = createDecipheriv('aes-256-gcm', master, wrapped.subarray(0, WRAP_NONCE))
  decipher.setAAD(wrapAad(objectId, keyId))
  decipher.setAuthTag(wrapped.subarray(WRAP_NONCE + 32))
  const key = decipher.update(wrapped.subarray(WRAP_NONCE, WRAP_NONCE + 32))
  try {
    decipher.final()
  } catch {
    throw new ObjectIntegrityError(`the key of object ${objectId} does not unwrap under master key ${keyId}`)
  }
  return key
}
