import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { bufferPool } from './buffer-pool.ts'

describe('bufferPool', () => {
  it('hands back the arrays it was given, of the chunk length only', () => {
    const pool = bufferPool(8)
    const a = pool.take(8)
    assert.equal(a.length, 8)
    pool.give(a)
    assert.equal(pool.take(8), a)
    pool.give(new Float32Array(5))
    pool.give(new Float32Array(16).subarray(0, 8))
    assert.equal(pool.take(5).length, 5)
    const fresh = pool.take(8)
    assert.equal(fresh.buffer.byteLength, 32)
    assert.notEqual(fresh, a)
  })
})
