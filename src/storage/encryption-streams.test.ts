import assert from 'node:assert/strict'
import { createSecretKey, randomBytes, randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import { describe, it } from 'node:test'
import { CHUNK_SIZE, HEADER_SIZE, ObjectIntegrityError, SEGMENT_SIZE, chunkSpan, encryptedSize } from './encryption-format.ts'
import { decryptingStream, encryptingStream, type DecryptOptions } from './encryption-streams.ts'

const C = CHUNK_SIZE
const key = createSecretKey(randomBytes(32))

/** `bytes` fed in pieces of `piece` bytes, so chunk boundaries never line up with the input's. */
const pieces = (bytes: Buffer, piece = 10_007) => Readable.from(Array.from({ length: Math.ceil(bytes.length / piece) }, (_, i) => bytes.subarray(i * piece, (i + 1) * piece)))

const encrypt = (id: string, plaintext: Buffer) => buffer(pieces(plaintext).pipe(encryptingStream(key, id)))

/** What a reader receives before the stream fails, and the failure. */
async function decrypt (id: string, stored: Buffer, options: DecryptOptions = { header: true, first: 0 }): Promise<{ received: Buffer, error?: Error }> {
  const received: Buffer[] = []
  const sink = new Writable({ write (chunk: Buffer, _e, done) { received.push(chunk); done() } })
  try {
    await pipeline(pieces(stored, 7_919), decryptingStream(key, id, options), sink)
    return { received: Buffer.concat(received) }
  } catch (error) {
    return { received: Buffer.concat(received), error: error as Error }
  }
}

describe('encrypting and decrypting streams', () => {
  it('round-trips objects of every size around the chunk boundaries', async () => {
    for (const size of [0, 1, C - 1, C, C + 1, 3 * C, 3 * C + 5]) {
      const id = randomUUID()
      const plaintext = randomBytes(size)
      const stored = await encrypt(id, plaintext)
      assert.equal(stored.length, encryptedSize(size), `stored size of ${size}`)
      const { received, error } = await decrypt(id, stored)
      assert.equal(error, undefined, `size ${size}`)
      assert.deepEqual(received, plaintext, `size ${size}`)
    }
  })

  it('reads a range by its chunks alone: across boundaries, the first and last byte, one byte, a whole chunk', async () => {
    const id = randomUUID()
    const size = 3 * C + 100
    const plaintext = randomBytes(size)
    const stored = await encrypt(id, plaintext)
    for (const range of [{ start: C - 10, end: 2 * C + 9 }, { start: 0, end: 0 }, { start: size - 1, end: size - 1 }, { start: 12345, end: 12345 }, { start: C, end: 2 * C - 1 }, { start: 0, end: size - 1 }]) {
      const span = chunkSpan(range, size)!
      const { received, error } = await decrypt(id, stored.subarray(span.stored.start, span.stored.end + 1), { header: false, first: span.first, last: span.last, final: span.final, skip: span.skip, take: span.take })
      assert.equal(error, undefined, JSON.stringify(range))
      assert.deepEqual(received, plaintext.subarray(range.start, range.end + 1), JSON.stringify(range))
    }
  })

  it('refuses an object with one flipped bit, and hands out no byte of that chunk', async () => {
    const id = randomUUID()
    const plaintext = randomBytes(2 * C + 10)
    const stored = await encrypt(id, plaintext)
    const inFirst = Buffer.from(stored)
    inFirst[HEADER_SIZE + 500]! ^= 0x10
    const first = await decrypt(id, inFirst)
    assert.ok(first.error instanceof ObjectIntegrityError)
    assert.equal(first.received.length, 0, 'nothing of the altered first chunk reached the reader')
    const inSecond = Buffer.from(stored)
    inSecond[HEADER_SIZE + SEGMENT_SIZE + 3]! ^= 0x01
    const second = await decrypt(id, inSecond)
    assert.ok(second.error instanceof ObjectIntegrityError)
    assert.deepEqual(second.received, plaintext.subarray(0, C), 'only the verified first chunk')
  })

  it('refuses a truncated object, whether cut inside a chunk or between chunks', async () => {
    const id = randomUUID()
    const stored = await encrypt(id, randomBytes(3 * C + 10))
    for (const cut of [stored.length - 1, HEADER_SIZE + 2 * SEGMENT_SIZE, HEADER_SIZE + SEGMENT_SIZE, HEADER_SIZE, 5]) {
      assert.ok((await decrypt(id, stored.subarray(0, cut))).error instanceof ObjectIntegrityError, `cut at ${cut}`)
    }
  })

  it('refuses chunks reordered, bytes appended, another header, or the object under another id', async () => {
    const id = randomUUID()
    const stored = await encrypt(id, randomBytes(3 * C))
    const header = stored.subarray(0, HEADER_SIZE)
    const chunk = (i: number) => stored.subarray(HEADER_SIZE + i * SEGMENT_SIZE, HEADER_SIZE + (i + 1) * SEGMENT_SIZE)
    assert.ok((await decrypt(id, Buffer.concat([header, chunk(1), chunk(0), chunk(2)]))).error instanceof ObjectIntegrityError, 'reordered')
    assert.ok((await decrypt(id, Buffer.concat([stored, randomBytes(20)]))).error instanceof ObjectIntegrityError, 'appended')
    const otherHeader = Buffer.from(stored)
    otherHeader[8] = 2
    assert.ok((await decrypt(id, otherHeader)).error instanceof ObjectIntegrityError, 'header')
    assert.ok((await decrypt(randomUUID(), stored)).error instanceof ObjectIntegrityError, 'another id')
  })

  it('refuses a range read of an object cut short', async () => {
    const id = randomUUID()
    const size = 3 * C
    const stored = await encrypt(id, randomBytes(size))
    const span = chunkSpan({ start: 0, end: 2 * C }, size)!
    const { error } = await decrypt(id, stored.subarray(span.stored.start, HEADER_SIZE + SEGMENT_SIZE), { header: false, first: span.first, last: span.last, final: span.final, skip: span.skip, take: span.take })
    assert.ok(error instanceof ObjectIntegrityError)
  })
})
