import assert from 'node:assert/strict'
import { createSecretKey, randomBytes, randomUUID } from 'node:crypto'
import { describe, it } from 'node:test'
import {
  CHUNK_SIZE, HEADER_SIZE, ObjectIntegrityError, SEGMENT_SIZE, TAG_SIZE, chunkAad, chunkCount, chunkNonce, chunkSpan,
  encryptedSize, openChunk, plaintextSize, sealChunk, unwrapObjectKey, wrapObjectKey
} from './encryption-format.ts'

const C = CHUNK_SIZE

describe('encrypted object format: sizes', () => {
  it('has one chunk for an empty object, and a tag per chunk', () => {
    assert.equal(chunkCount(0), 1)
    assert.equal(encryptedSize(0), HEADER_SIZE + TAG_SIZE)
    assert.equal(chunkCount(C), 1)
    assert.equal(chunkCount(C + 1), 2)
    assert.equal(encryptedSize(3 * C + 5), HEADER_SIZE + 3 * C + 5 + 4 * TAG_SIZE)
  })

  it('turns every stored size back into its plaintext size', () => {
    for (const size of [0, 1, C - 1, C, C + 1, 2 * C, 5 * C + 17, 1_000_003]) assert.equal(plaintextSize(encryptedSize(size)), size, `size ${size}`)
  })

  it('knows no plaintext size for a stored size no object has', () => {
    assert.equal(plaintextSize(0), undefined, 'nothing')
    assert.equal(plaintextSize(HEADER_SIZE + TAG_SIZE - 1), undefined, 'shorter than a tag')
    // A full chunk, then an empty final chunk: the writer makes the full chunk final instead.
    assert.equal(plaintextSize(HEADER_SIZE + SEGMENT_SIZE + TAG_SIZE), undefined)
    assert.equal(plaintextSize(HEADER_SIZE + 2 * SEGMENT_SIZE + 5), undefined, 'a last chunk shorter than its tag')
  })
})

describe('encrypted object format: ranges', () => {
  const size = 3 * C + 100
  it('maps the first byte and the last byte to their own chunk', () => {
    assert.deepEqual(chunkSpan({ start: 0, end: 0 }, size), { first: 0, last: 0, final: 3, stored: { start: HEADER_SIZE, end: HEADER_SIZE + SEGMENT_SIZE - 1 }, skip: 0, take: 1 })
    const last = chunkSpan({ start: size - 1, end: size - 1 }, size)!
    assert.deepEqual([last.first, last.last, last.skip, last.take], [3, 3, 99, 1])
    assert.deepEqual(last.stored, { start: HEADER_SIZE + 3 * SEGMENT_SIZE, end: encryptedSize(size) - 1 })
  })

  it('fetches every chunk a range crosses, and only those', () => {
    const span = chunkSpan({ start: C - 10, end: 2 * C + 9 }, size)!
    assert.deepEqual([span.first, span.last, span.skip, span.take], [0, 2, C - 10, C + 20])
    assert.deepEqual(span.stored, { start: HEADER_SIZE, end: HEADER_SIZE + 3 * SEGMENT_SIZE - 1 })
  })

  it('maps a whole chunk to exactly that chunk', () => {
    const span = chunkSpan({ start: C, end: 2 * C - 1 }, size)!
    assert.deepEqual([span.first, span.last, span.skip, span.take], [1, 1, 0, C])
    assert.deepEqual(span.stored, { start: HEADER_SIZE + SEGMENT_SIZE, end: HEADER_SIZE + 2 * SEGMENT_SIZE - 1 })
  })

  it('has no span for a range outside the object', () => {
    assert.equal(chunkSpan({ start: 0, end: size }, size), undefined)
    assert.equal(chunkSpan({ start: 5, end: 4 }, size), undefined)
    assert.equal(chunkSpan({ start: 0, end: 0 }, 0), undefined)
    assert.equal(chunkSpan({ start: -1, end: 3 }, size), undefined)
  })
})

describe('encrypted object format: chunks', () => {
  const key = createSecretKey(randomBytes(32))
  const id = randomUUID()
  const aad = chunkAad(id)

  it('gives each chunk index and the final flag a nonce of its own', () => {
    const nonces = [chunkNonce(0, false), chunkNonce(0, true), chunkNonce(1, false), chunkNonce(256, false), chunkNonce(2 ** 40, true)].map((n) => n.toString('hex'))
    assert.equal(new Set(nonces).size, nonces.length)
    assert.ok(nonces.every((n) => n.length === 24))
  })

  it('opens a sealed chunk, and refuses it with one bit flipped, at another index, as the other flag or under another id', () => {
    const plaintext = randomBytes(1000)
    const sealed = Buffer.concat(sealChunk(key, 7, false, aad, plaintext))
    assert.equal(sealed.length, plaintext.length + TAG_SIZE)
    assert.deepEqual(openChunk(key, 7, false, aad, sealed), plaintext)
    const flipped = Buffer.from(sealed)
    flipped[123]! ^= 0x01
    assert.throws(() => openChunk(key, 7, false, aad, flipped), ObjectIntegrityError)
    assert.throws(() => openChunk(key, 8, false, aad, sealed), ObjectIntegrityError, 'reordered')
    assert.throws(() => openChunk(key, 7, true, aad, sealed), ObjectIntegrityError, 'a non-final chunk taken as final (truncation)')
    assert.throws(() => openChunk(key, 7, false, chunkAad(randomUUID()), sealed), ObjectIntegrityError, 'copied under another id')
    assert.throws(() => openChunk(createSecretKey(randomBytes(32)), 7, false, aad, sealed), ObjectIntegrityError, 'another key')
    assert.throws(() => openChunk(key, 7, false, aad, sealed.subarray(0, 10)), ObjectIntegrityError, 'shorter than a tag')
  })

  it('wraps an object key bound to its object and master key id', () => {
    const master = createSecretKey(randomBytes(32))
    const objectKey = randomBytes(32)
    const wrapped = wrapObjectKey(master, 'aaaaaaaaaaaaaaaa', id, objectKey)
    assert.deepEqual(unwrapObjectKey(master, 'aaaaaaaaaaaaaaaa', id, wrapped), objectKey)
    assert.throws(() => unwrapObjectKey(master, 'bbbbbbbbbbbbbbbb', id, wrapped), ObjectIntegrityError, 'relabelled key id')
    assert.throws(() => unwrapObjectKey(master, 'aaaaaaaaaaaaaaaa', randomUUID(), wrapped), ObjectIntegrityError, 'row copied to another object')
    assert.throws(() => unwrapObjectKey(createSecretKey(randomBytes(32)), 'aaaaaaaaaaaaaaaa', id, wrapped), ObjectIntegrityError, 'wrong master key')
    assert.throws(() => unwrapObjectKey(master, 'aaaaaaaaaaaaaaaa', id, wrapped.subarray(1)), ObjectIntegrityError, 'cut')
  })
})
