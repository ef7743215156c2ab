import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatKey, hashKeySecret, keyDisplayId, looksLikeApiKey, newKeyId, newKeySecret, parseKey } from './api-key.ts'

const KEY_FORMAT = /^tym_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/

describe('api key format', () => {
  it('is tym_<12 hex>_<43 base64url>, and the secret carries 256 bits', () => {
    const id = newKeyId()
    const secret = newKeySecret()
    const key = formatKey(id, secret)
    assert.match(key, KEY_FORMAT)
    assert.match(id, /^[0-9a-f]{12}$/)
    // 43 base64url characters without padding are exactly 32 bytes.
    assert.equal(Buffer.from(secret, 'base64url').length, 32)
    assert.ok(looksLikeApiKey(key))
    assert.equal(keyDisplayId(id), `tym_${id}`)
    assert.equal(key, `tym_${id}_${secret}`)
  })

  it('never repeats an id or a secret', () => {
    const ids = new Set<string>()
    const secrets = new Set<string>()
    for (let i = 0; i < 200; i++) {
      ids.add(newKeyId())
      secrets.add(newKeySecret())
    }
    assert.equal(ids.size, 200)
    assert.equal(secrets.size, 200)
  })

  it('parses a well-formed key back into its id and secret', () => {
    const id = newKeyId()
    const secret = newKeySecret()
    assert.deepEqual(parseKey(formatKey(id, secret)), { id, secret })
  })

  it('rejects malformed keys', () => {
    const id = 'a1b2c3d4e5f6'
    const secret = 'A'.repeat(43)
    assert.ok(parseKey(formatKey(id, secret)))
    const malformed = [
      '',
      'tym_',
      `tym_${id}`,
      `tym_${id}_`,
      `tym_${id}_${secret.slice(1)}`, // secret too short
      `tym_${id}_${secret}A`, // secret too long
      `tym_${id}_${secret.slice(1)}=`, // padding is not base64url
      `tym_${id}_${secret.slice(1)}+`, // base64, not base64url
      `tym_${id.toUpperCase()}_${secret}`, // id is lowercase hex
      `tym_${id.slice(1)}_${secret}`, // id too short
      `tym_${id}0_${secret}`, // id too long
      `tym_g1b2c3d4e5f6_${secret}`, // id not hex
      `TYM_${id}_${secret}`, // wrong prefix
      `xyz_${id}_${secret}`,
      ` tym_${id}_${secret}`, // surrounding whitespace
      `tym_${id}_${secret}\n`,
      `tym_${id}-${secret}`,
      `tym_${id}_${secret}_${secret}`
    ]
    for (const value of malformed) assert.equal(parseKey(value), undefined, JSON.stringify(value))
    assert.ok(!looksLikeApiKey('Bearer abc'))
  })

  it('hashes deterministically, differently per secret, without revealing the secret', () => {
    const a = newKeySecret()
    const b = newKeySecret()
    assert.equal(hashKeySecret(a), hashKeySecret(a))
    assert.notEqual(hashKeySecret(a), hashKeySecret(b))
    assert.match(hashKeySecret(a), /^[0-9a-f]{64}$/)
    assert.ok(!hashKeySecret(a).includes(a))
    // One changed character changes the hash.
    const flipped = `${a.slice(0, -1)}${a.endsWith('A') ? 'B' : 'A'}`
    assert.notEqual(hashKeySecret(flipped), hashKeySecret(a))
  })
})
