import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { deferrableDeletes } from './deferred-deletes.ts'
import type { Storage } from './storage.ts'

/** A store that records deletes; `slow` makes the next delete wait until its gate opens. */
function recordingStore () {
  const deleted: string[] = []
  let gate: Promise<void> | undefined
  const fail = new Set<string>()
  const store = {
    async delete (id: string) {
      if (gate) await gate
      if (fail.has(id)) throw new Error(`cannot delete ${id}`)
      deleted.push(id)
    }
  } as unknown as Storage
  return {
    store,
    deleted,
    fail,
    slow () {
      let open = () => {}
      gate = new Promise<void>((resolve) => { open = resolve })
      return () => { gate = undefined; open() }
    }
  }
}

describe('deferrableDeletes', () => {
  it('passes deletes through while no hold is on', async () => {
    const { store, deleted } = recordingStore()
    const { storage } = deferrableDeletes(store)
    await storage.delete('a')
    assert.deepEqual(deleted, ['a'])
  })

  it('lists objects from the store it wraps, and an orphan collected during a hold is deleted at release', async () => {
    const { store, deleted } = recordingStore()
    const { storage, hold } = deferrableDeletes({ ...store, async * listOlderThan (olderThanMs: number) { if (olderThanMs === 60_000) yield 'orphan' } } as Storage)
    const release = await hold()
    for await (const id of storage.listOlderThan(60_000)) await storage.delete(id)
    assert.deepEqual(deleted, [], 'a backup under way may still be copying it')
    await release()
    assert.deepEqual(deleted, ['orphan'])
  })

  it('defers deletes during a hold and runs them, once each, at release', async () => {
    const { store, deleted } = recordingStore()
    const { storage, hold } = deferrableDeletes(store)
    const release = await hold()
    await storage.delete('a')
    await storage.delete('b')
    await storage.delete('a')
    assert.deepEqual(deleted, [], 'nothing is deleted while held')
    await release()
    assert.deepEqual(deleted.sort(), ['a', 'b'])
    await release()
    assert.deepEqual(deleted.sort(), ['a', 'b'], 'a second release changes nothing')
    await storage.delete('c')
    assert.deepEqual(deleted.sort(), ['a', 'b', 'c'], 'after release deletes pass through again')
  })

  it('a hold waits for the deletes already under way', async () => {
    const { store, deleted, slow } = recordingStore()
    const { storage, hold } = deferrableDeletes(store)
    const open = slow()
    const underway = storage.delete('a')
    let held = false
    const holding = hold().then((release) => { held = true; return release })
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(held, false, 'the hold is not granted while a delete runs')
    open()
    await underway
    const release = await holding
    assert.deepEqual(deleted, ['a'])
    await release()
  })

  it('deletes stay deferred until the last of overlapping holds is released', async () => {
    const { store, deleted } = recordingStore()
    const { storage, hold } = deferrableDeletes(store)
    const first = await hold()
    const second = await hold()
    await storage.delete('a')
    await first()
    assert.deepEqual(deleted, [])
    await second()
    assert.deepEqual(deleted, ['a'])
  })

  it('a deferred delete that fails is reported at release, and the others still run', async () => {
    const { store, deleted, fail } = recordingStore()
    const { storage, hold } = deferrableDeletes(store)
    fail.add('bad')
    const release = await hold()
    await storage.delete('bad')
    await storage.delete('good')
    await assert.rejects(release(), /cannot delete bad/)
    assert.deepEqual(deleted, ['good'])
  })
})
