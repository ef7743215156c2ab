import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { csrfCodec, safeEqual } from './csrf.ts'

const codec = csrfCodec('csrf-secret-for-unit-tests-0123456789')

describe('CSRF double-submit token', () => {
  it('accepts a token echoed in the header that matches its cookie and session', () => {
    const token = codec.issue('session-a')
    assert.equal(codec.verify('session-a', token, token), true)
  })

  it('issues a fresh token each time', () => {
    assert.notEqual(codec.issue('session-a'), codec.issue('session-a'))
  })

  it('rejects a header that differs from the cookie', () => {
    const token = codec.issue('session-a')
    const other = codec.issue('session-a')
    assert.equal(codec.verify('session-a', other, token), false)
    assert.equal(codec.verify('session-a', token, other), false)
  })

  it('rejects a token issued for another session (cookie tossing)', () => {
    const token = codec.issue('session-b')
    assert.equal(codec.verify('session-a', token, token), false)
  })

  it('rejects a token with a tampered signature or nonce', () => {
    const token = codec.issue('session-a')
    const [nonce, signature] = token.split('.') as [string, string]
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1)
    for (const tampered of [`${nonce}.${flip(signature)}`, `${flip(nonce)}.${signature}`, `${nonce}.${signature}.x`, nonce]) {
      assert.equal(codec.verify('session-a', tampered, tampered), false, tampered)
    }
  })

  it('rejects a token signed with another secret', () => {
    const token = csrfCodec('another-secret-entirely-0123456789').issue('session-a')
    assert.equal(codec.verify('session-a', token, token), false)
  })

  it('rejects a missing header or cookie', () => {
    const token = codec.issue('session-a')
    assert.equal(codec.verify('session-a', undefined, token), false)
    assert.equal(codec.verify('session-a', token, undefined), false)
    assert.equal(codec.verify('session-a', '', ''), false)
    assert.equal(codec.verify('session-a', undefined, undefined), false)
  })

  it('compares strings of any length safely', () => {
    assert.equal(safeEqual('abc', 'abc'), true)
    assert.equal(safeEqual('abc', 'abd'), false)
    assert.equal(safeEqual('abc', 'abcd'), false)
  })
})
