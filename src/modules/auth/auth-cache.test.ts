import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { authCache } from './auth-cache.ts'

describe('authCache', () => {
  it('returns what was set until the TTL passes', () => {
    const cache = authCache<string>({ ttlMs: 1000, maxEntries: 10 })
    cache.set('a', 'A', cache.begin(), 0)
    assert.equal(cache.get('a', 999), 'A')
    assert.equal(cache.get('a', 1000), undefined)
  })

  it('drops a value read before a clear (no stale repopulation)', () => {
    const cache = authCache<string>({ ttlMs: 1000, maxEntries: 10 })
    const generation = cache.begin()
    cache.clear() // a revocation lands while the read is in flight
    cache.set('a', 'stale', generation)
    assert.equal(cache.get('a'), undefined)
    cache.set('a', 'fresh', cache.begin())
    assert.equal(cache.get('a'), 'fresh')
  })

  it('clear empties everything', () => {
    const cache = authCache<string>({ ttlMs: 1000, maxEntries: 10 })
    cache.set('a', 'A', cache.begin())
    cache.set('b', 'B', cache.begin())
    cache.clear()
    assert.equal(cache.size, 0)
  })

  it('stays within maxEntries by evicting the oldest', () => {
    const cache = authCache<number>({ ttlMs: 1000, maxEntries: 3 })
    for (let i = 0; i < 5; i++) cache.set(String(i), i, cache.begin())
    assert.equal(cache.size, 3)
    assert.equal(cache.get('0'), undefined)
    assert.equal(cache.get('4'), 4)
  })
})
