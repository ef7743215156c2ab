import { Transform } from 'node:stream'
import type { KeyObject } from 'node:crypto'
import { CHUNK_SIZE, HEADER, HEADER_SIZE, ObjectIntegrityError, SEGMENT_SIZE, chunkAad, openChunkParts, sealChunk } from './encryption-format.ts'

/** Collects bytes and hands them out in exact lengths, copying only when a piece spans input buffers. */
class Pending {
  #parts: Buffer[] = []
  length = 0
  push (chunk: Buffer): void {
    this.#parts.push(chunk)
    this.length += chunk.length
  }

  take (size: number): Buffer {
    if (size === 0) return Buffer.alloc(0)
    const head = this.#parts[0]!
    this.length -= size
    if (head.length >= size) {
      if (head.length === size) this.#parts.shift()
      else this.#parts[0] = head.subarray(size)
      return head.subarray(0, size)
    }
    // A piece spanning input buffers: one copy of exactly its bytes, no more.
    const out = Buffer.allocUnsafe(size)
    let filled = 0
    while (filled < size) {
      const part = this.#parts[0]!
      const used = Math.min(part.length, size - filled)
      part.copy(out, filled, 0, used)
      filled += used
      if (used === part.length) this.#parts.shift()
      else this.#parts[0] = part.subarray(used)
    }
    return out
  }

  /** The next `size` bytes as the buffers they arrived in (cut, never copied). */
  takeParts (size: number): Buffer[] {
    const out: Buffer[] = []
    this.length -= size
    for (let left = size; left > 0;) {
      const part = this.#parts[0]!
      if (part.length <= left) {
        out.push(part)
        this.#parts.shift()
        left -= part.length
      } else {
        out.push(part.subarray(0, left))
        this.#parts[0] = part.subarray(left)
        left = 0
      }
    }
    return out
  }
}

/**
 * Plaintext in, the stored format out (encryption-format.ts). A full chunk is sealed only
 * once a byte past it arrives: until the source ends, the last chunk cannot know whether it
 * is the final one.
 */
export function encryptingStream (key: KeyObject, objectId: string): Transform {
  const aad = chunkAad(objectId)
  const pending = new Pending()
  let index = 0
  return new Transform({
    readableHighWaterMark: 1 << 20,
    writableHighWaterMark: 1 << 20,
    construct (done) {
      this.push(HEADER)
      done()
    },
    transform (chunk: Buffer, _encoding, done) {
      pending.push(chunk)
      while (pending.length > CHUNK_SIZE) for (const part of sealChunk(key, index++, false, aad, pending.take(CHUNK_SIZE))) this.push(part)
      done()
    },
    flush (done) {
      for (const part of sealChunk(key, index, true, aad, pending.take(pending.length))) this.push(part)
      done()
    }
  })
}

export interface DecryptOptions {
  /** Whether the stream starts with the header (a read from offset 0) or at chunk `first`. */
  header: boolean
  first: number
  /** The index of the object's final chunk when known (a range read); else the last chunk in the stream is. */
  final?: number
  /** The chunk index the stream must end with (a range read): fewer bytes mean the object was cut. */
  last?: number
  skip?: number
  take?: number
}

/**
 * The stored format in, verified plaintext out: a chunk is pushed only once its tag has
 * verified, so a reader never receives a byte of an altered chunk. Any failure (a tag, the
 * header, a missing final chunk) errors the stream with an ObjectIntegrityError.
 */
export function decryptingStream (key: KeyObject, objectId: string, options: DecryptOptions): Transform {
  const aad = chunkAad(objectId)
  const pending = new Pending()
  let index = options.first
  let headerSeen = !options.header
  let skip = options.skip ?? 0
  let left = options.take ?? Number.POSITIVE_INFINITY
  const emit = (stream: Transform, plaintext: Buffer[]) => {
    for (const piece of plaintext) {
      const kept = piece.subarray(skip, skip + left)
      skip = Math.max(0, skip - piece.length)
      left -= kept.length
      if (kept.length > 0) stream.push(kept)
    }
  }
  const open = (segment: Buffer[], atEnd: boolean) => {
    const final = options.final === undefined ? atEnd : index === options.final
    return openChunkParts(key, index++, final, aad, segment)
  }
  // 1 MiB each side: several chunks in flight between the store and the socket, not one.
  return new Transform({
    readableHighWaterMark: 1 << 20,
    writableHighWaterMark: 1 << 20,
    transform (chunk: Buffer, _encoding, done) {
      pending.push(chunk)
      try {
        if (!headerSeen) {
          if (pending.length < HEADER_SIZE) return done()
          if (!pending.take(HEADER_SIZE).equals(HEADER)) throw new ObjectIntegrityError(`object ${objectId} does not start with the encrypted format's header`)
          headerSeen = true
        }
        // One segment stays behind until more bytes or the end show whether it is the final one.
        while (pending.length > SEGMENT_SIZE) emit(this, open(pending.takeParts(SEGMENT_SIZE), false))
        done()
      } catch (error) {
        done(error as Error)
      }
    },
    flush (done) {
      try {
        if (!headerSeen) throw new ObjectIntegrityError(`object ${objectId} is shorter than the encrypted format's header`)
        if (pending.length === 0 && index === options.first) throw new ObjectIntegrityError(`object ${objectId} has no chunks`)
        if (pending.length > 0) emit(this, open(pending.takeParts(pending.length), true))
        const ended = index - 1
        if (options.last !== undefined && ended !== options.last) throw new ObjectIntegrityError(`object ${objectId} ends at chunk ${ended}, not ${options.last}: it was cut`)
        done()
      } catch (error) {
        done(error as Error)
      }
    }
  })
}
