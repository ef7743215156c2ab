import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { MIN_SECRET_BITS, estimatedBits, secretWeakness } from './secret-strength.ts'

describe('secretWeakness', () => {
  it('accepts openssl rand -base64 48 and -hex 32 with a wide margin', () => {
    for (let i = 0; i < 10; i++) {
      for (const value of [randomBytes(48).toString('base64'), randomBytes(32).toString('hex')]) {
        assert.equal(secretWeakness(value), undefined, value)
        assert.ok(estimatedBits(value) > MIN_SECRET_BITS + 40, `${value}: ${estimatedBits(value)} bits`)
      }
    }
  })

  it('refuses values of 32 bytes or more that are repeats, sequences, keyboard walks or phrases', () => {
    for (const value of [
      'a'.repeat(32),
      'abababababababababababababababab',
      '0123456789abcdef0123456789abcdef',
      'qwertyuiopasdfghjklzxcvbnmqwertyuiop',
      'thisismyverylongsecretpassphraseforjwt',
      'correct horse battery staple and then some more',
      'Tr0ub4dor&3Tr0ub4dor&3Tr0ub4dor&3',
      'é'.repeat(16)
    ]) {
      assert.match(secretWeakness(value) ?? 'accepted', /^is guessable \(about \d+ bits estimated, at least 128 needed/, value)
    }
  })

  it('refuses placeholders even when the rest is random', () => {
    for (const value of ['change-me-change-me-change-me-change-me', 'CHANGEME_CHANGEME_CHANGEME_CHANGEME', 'replace-with-a-long-random-string-please',
      `example-${randomBytes(32).toString('base64')}`, 'generate-with-openssl-rand-base64-48-please', `your-secret-${randomBytes(32).toString('hex')}`]) {
      assert.match(secretWeakness(value) ?? 'accepted', /^is a placeholder/, value)
    }
  })

  it('refuses a value shorter than 32 bytes, counting bytes', () => {
    assert.equal(secretWeakness(randomBytes(15).toString('hex') + 'a'), 'is shorter than 32 bytes')
    assert.equal(secretWeakness('é'.repeat(15)), 'is shorter than 32 bytes')
  })
})
