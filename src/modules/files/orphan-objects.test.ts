import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { AuditRecord } from '../../audit/audit.repository.ts'
import { orphanCollector } from './orphan-objects.ts'

const HOUR = 3_600_000

/** A store whose objects have ages, and rows that name some of them. */
function world (objects: Record<string, number>, named: string[], pageSize?: number) {
  const store = new Map(Object.entries(objects))
  const queries: string[][] = []
  const audits: AuditRecord[] = []
  const listedWith: number[] = []
  const collector = orphanCollector({
    storage: {
      async * listOlderThan (olderThanMs) {
        listedWith.push(olderThanMs)
        for (const [id, age] of [...store]) if (age > olderThanMs) yield id
      },
      async delete (id) { store.delete(id) }
    },
    references: { referenced: async (ids) => { queries.push(ids); return new Set(ids.filter((id) => named.includes(id))) } },
    audit: { record: async (record) => { audits.push(record) } },
    graceMs: 24 * HOUR,
    ...(pageSize ? { pageSize } : {})
  })
  return { store, queries, audits, listedWith, collector }
}

describe('orphanCollector', () => {
  it('deletes an old object no row names and audits it; keeps an old one a row names and a young one', async () => {
    const w = world({ orphan: 25 * HOUR, named: 48 * HOUR, young: HOUR }, ['named'])
    assert.equal(await w.collector.collect(), 1)
    assert.deepEqual([...w.store.keys()].sort(), ['named', 'young'])
    assert.deepEqual(w.listedWith, [24 * HOUR], 'the grace period is what the store is asked for')
    assert.deepEqual(w.audits, [{ action: 'object.orphan_deleted', status: 200, detail: { objectId: 'orphan' } }])
  })

  it('keeps a young object even when no row names it yet: its row may be a moment away', async () => {
    const w = world({ 'just-stored': 23 * HOUR }, [])
    assert.equal(await w.collector.collect(), 0)
    assert.deepEqual([...w.store.keys()], ['just-stored'])
    assert.deepEqual(w.queries, [], 'nothing old: no query at all')
  })

  it('checks references one query per page of ids, never one per object', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e']
    const w = world(Object.fromEntries(ids.map((id) => [id, 30 * HOUR])), ['b', 'e'], 2)
    assert.equal(await w.collector.collect(), 3)
    assert.deepEqual(w.queries, [['a', 'b'], ['c', 'd'], ['e']])
    assert.deepEqual([...w.store.keys()].sort(), ['b', 'e'])
    assert.equal(w.audits.length, 3)
  })

  it('lists the store at most once per interval, however often the sweep runs', async () => {
    let at = 0
    let listings = 0
    const collector = orphanCollector({
      storage: { async * listOlderThan () { listings++; yield * [] }, delete: async () => {} },
      references: { referenced: async () => new Set() },
      audit: { record: async () => {} },
      graceMs: HOUR,
      everyMs: HOUR,
      now: () => at
    })
    await collector.collect()
    at = HOUR - 1
    await collector.collect()
    assert.equal(listings, 1, 'a sweep within the hour does not list again')
    at = HOUR
    await collector.collect()
    assert.equal(listings, 2)
  })

  it('tries again at the next sweep after a collection that failed, not an interval later', async () => {
    let at = 0
    let listings = 0
    let storeDown = true
    const collector = orphanCollector({
      storage: {
        async * listOlderThan () {
          listings++
          if (storeDown) throw new Error('store unavailable')
          yield * []
        },
        delete: async () => {}
      },
      references: { referenced: async () => new Set() },
      audit: { record: async () => {} },
      graceMs: HOUR,
      everyMs: HOUR,
      now: () => at
    })
    await assert.rejects(collector.collect(), /store unavailable/)
    at = 60_000
    storeDown = false
    await collector.collect()
    assert.equal(listings, 2, 'the sweep a minute later lists again')
    at = 2 * 60_000
    await collector.collect()
    assert.equal(listings, 2, 'after a collection that finished, the interval holds')
  })

  it('leaves a collection still listing alone: a sweep meanwhile does not list again', async () => {
    let listings = 0
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => { release = resolve })
    const collector = orphanCollector({
      storage: { async * listOlderThan () { listings++; await held; yield * [] }, delete: async () => {} },
      references: { referenced: async () => new Set() },
      audit: { record: async () => {} },
      graceMs: HOUR,
      everyMs: HOUR,
      now: () => 0
    })
    const first = collector.collect()
    const meanwhile = collector.collect()
    release()
    assert.deepEqual(await Promise.all([first, meanwhile]), [0, 0])
    assert.equal(listings, 1)
  })

  it('stops at a failing delete, leaving the rest for the next sweep', async () => {
    const audits: AuditRecord[] = []
    const failing = orphanCollector({
      storage: { async * listOlderThan () { yield 'a'; yield 'b' }, delete: async () => { throw new Error('store unavailable') } },
      references: { referenced: async () => new Set() },
      audit: { record: async (record) => { audits.push(record) } },
      graceMs: HOUR
    })
    await assert.rejects(failing.collect(), /store unavailable/)
    assert.deepEqual(audits, [], 'nothing is audited as deleted that was not')
  })
})
