import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Principal } from '../../access/permissions.ts'
import { streamClaims, streamLimiter, type Acquired, type StreamClaim } from './jobs.stream-limit.ts'

const limits = { user: 3, address: 5, internal_key: 10 }
const claims = (user: string, address: string): StreamClaim[] => [{ bucket: 'user', id: user }, { bucket: 'address', id: address }]
const granted = (acquired: Acquired) => {
  assert.ok(acquired.ok, 'slot granted')
  return acquired.release
}

describe('streamLimiter', () => {
  it('refuses beyond the cap of a bucket, naming it, and takes nothing from the others', () => {
    const limiter = streamLimiter(limits)
    for (let i = 0; i < 3; i++) granted(limiter.acquire(claims('u1', 'a'), 1000 + i, 0))
    const refused = limiter.acquire(claims('u1', 'a'), 2000, 10)
    assert.deepEqual(refused, { ok: false, bucket: 'user', limit: 3, retryAfterMs: 990 })
    assert.equal(limiter.open({ bucket: 'address', id: 'a' }), 3, 'the refused stream holds no address slot')
    granted(limiter.acquire(claims('u2', 'a'), 2000, 0))
    granted(limiter.acquire(claims('u3', 'a'), 2000, 0))
    assert.deepEqual(limiter.acquire(claims('u4', 'a'), 2000, 0), { ok: false, bucket: 'address', limit: 5, retryAfterMs: 1000 })
    granted(limiter.acquire(claims('u4', 'b'), 2000, 0))
  })

  it('gives slots back on release, once: open to the cap, close some, open again', () => {
    const limiter = streamLimiter(limits)
    const releases = [0, 1, 2].map(() => granted(limiter.acquire(claims('u1', 'a'), 1000, 0)))
    assert.equal(limiter.acquire(claims('u1', 'a'), 1000, 0).ok, false)
    releases[0]!()
    releases[0]!()
    releases[1]!()
    assert.equal(limiter.open({ bucket: 'user', id: 'u1' }), 1, 'a second release of one slot frees nothing more')
    granted(limiter.acquire(claims('u1', 'a'), 1000, 0))
    granted(limiter.acquire(claims('u1', 'a'), 1000, 0))
    assert.equal(limiter.acquire(claims('u1', 'a'), 1000, 0).ok, false)
    for (const release of releases) release()
    assert.equal(limiter.open({ bucket: 'address', id: 'a' }), 2)
  })
})

describe('streamClaims', () => {
  const base = { userId: 'u1', user: {} as Principal['user'], role: 'member', tier: 'free', scopes: [], viaCookie: false } as const
  it('counts sessions and API keys against their user and address, IPv6 by /64', () => {
    assert.deepEqual(streamClaims({ ...base, kind: 'session' }, '2001:db8:1:2:aaaa::1'), claims('u1', '2001:db8:1:2::/64'))
    assert.deepEqual(streamClaims({ ...base, kind: 'api_key', keyId: 'tym_0123456789ab' }, '2001:db8:1:2:bbbb::9'), claims('u1', '2001:db8:1:2::/64'))
    assert.deepEqual(streamClaims({ ...base, kind: 'session' }, '::ffff:192.0.2.7'), claims('u1', '192.0.2.7'))
  })

  it('counts each internal service key on its own, not by address', () => {
    assert.deepEqual(streamClaims({ ...base, kind: 'internal', keyId: 'internal:abc' }, '192.0.2.7'), [{ bucket: 'internal_key', id: 'internal:abc' }])
  })
})
