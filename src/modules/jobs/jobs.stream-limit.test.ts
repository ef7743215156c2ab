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
  it('refuses beyond the cap of a bucket, naming the bucket and its limit, and takes nothing from the others', async () => {
    const limiter = streamLimiter(limits)
    for (let i = 0; i < 3; i++) granted(await limiter.acquire(claims('u1', 'a'), 60_000))
    const refused = await limiter.acquire(claims('u1', 'a'), 60_000)
    assert.ok(!refused.ok)
    assert.equal(refused.bucket, 'user')
    assert.equal(refused.limit, 3)
    assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 60_000, String(refused.retryAfterMs))
    assert.equal(await limiter.open({ bucket: 'address', id: 'a' }), 3, 'the refused stream holds no address slot')
    granted(await limiter.acquire(claims('u2', 'a'), 60_000))
    granted(await limiter.acquire(claims('u3', 'a'), 60_000))
    assert.deepEqual({ ...await limiter.acquire(claims('u4', 'a'), 60_000), retryAfterMs: 0 }, { ok: false, bucket: 'address', limit: 5, retryAfterMs: 0 })
    granted(await limiter.acquire(claims('u4', 'b'), 60_000))
  })

  it('gives slots back on release', async () => {
    const limiter = streamLimiter(limits)
    const releases = await Promise.all([0, 1, 2].map(async () => granted(await limiter.acquire(claims('u1', 'a'), 60_000))))
    assert.equal((await limiter.acquire(claims('u1', 'a'), 60_000)).ok, false)
    for (const release of releases) release()
    assert.equal(await limiter.open({ bucket: 'user', id: 'u1' }), 0)
    assert.equal(await limiter.open({ bucket: 'address', id: 'a' }), 0)
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
