import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { slotCounter, type SlotClaim, type SlotGrant } from './slot.store.ts'

const claims = (user: string, address: string): SlotClaim[] => [{ key: `user:${user}`, limit: 3 }, { key: `address:${address}`, limit: 5 }]
const granted = (grant: SlotGrant) => {
  assert.ok(grant.ok, 'slot granted')
  return grant.release
}

describe('slotCounter', () => {
  it('refuses beyond the limit of a key, naming it and the soonest deadline, and takes nothing from the others', () => {
    const slots = slotCounter()
    for (let i = 0; i < 3; i++) granted(slots.acquire(claims('u1', 'a'), 1000 + i, 0))
    assert.deepEqual(slots.acquire(claims('u1', 'a'), 2000, 10), { ok: false, refused: 0, retryAfterMs: 990 })
    assert.equal(slots.open('address:a', 10), 3, 'the refused holder took no address slot')
    granted(slots.acquire(claims('u2', 'a'), 2000, 0))
    granted(slots.acquire(claims('u3', 'a'), 2000, 0))
    assert.deepEqual(slots.acquire(claims('u4', 'a'), 2000, 0), { ok: false, refused: 1, retryAfterMs: 1000 })
    granted(slots.acquire(claims('u4', 'b'), 2000, 0))
  })

  it('gives slots back on release, once: open to the limit, close some, open again', () => {
    const slots = slotCounter()
    const releases = [0, 1, 2].map(() => granted(slots.acquire(claims('u1', 'a'), 1000, 0)))
    assert.equal(slots.acquire(claims('u1', 'a'), 1000, 0).ok, false)
    releases[0]!()
    releases[0]!()
    releases[1]!()
    assert.equal(slots.open('user:u1', 0), 1, 'a second release of one slot frees nothing more')
    granted(slots.acquire(claims('u1', 'a'), 1000, 0))
    granted(slots.acquire(claims('u1', 'a'), 1000, 0))
    assert.equal(slots.acquire(claims('u1', 'a'), 1000, 0).ok, false)
    for (const release of releases) release()
    assert.equal(slots.open('address:a', 0), 2)
  })

  it('frees a slot at its deadline even if its holder never releases it', () => {
    const slots = slotCounter()
    for (let i = 0; i < 3; i++) granted(slots.acquire(claims('u1', 'a'), 1000, 0))
    assert.equal(slots.acquire(claims('u1', 'a'), 5000, 999).ok, false)
    assert.equal(slots.open('user:u1', 1000), 0)
    granted(slots.acquire(claims('u1', 'a'), 5000, 1000))
  })
})
