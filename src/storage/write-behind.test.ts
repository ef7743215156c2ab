import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import { describe, it } from 'node:test'
import { writeBehind } from './write-behind.ts'

describe('writeBehind', () => {
  it('starts a flush each `every` bytes, never two at once', async () => {
    let flushes = 0
    let running = 0
    let release: () => void = () => {}
    const behind = writeBehind(async () => {
      flushes++
      running++
      assert.equal(running, 1)
      await new Promise<void>((resolve) => { release = resolve })
      running--
    }, 100)
    behind.wrote(99)
    assert.equal(flushes, 0)
    behind.wrote(1)
    assert.equal(flushes, 1)
    behind.wrote(500)
    assert.equal(flushes, 1, 'one is running: no second')
    release()
    await behind.done()
    behind.wrote(100)
    assert.equal(flushes, 2)
    release()
    await behind.done()
  })

  it('keeps the first failure for done(), and flushes no more after it', async () => {
    let flushes = 0
    const behind = writeBehind(async () => { flushes++; throw new Error('EIO: write-back failed') }, 10)
    behind.wrote(10)
    await assert.rejects(behind.done(), /EIO/)
    behind.wrote(10)
    await assert.rejects(behind.done(), /EIO/)
    assert.equal(flushes, 1)
  })

  it('counts what streams through its counter', async () => {
    let flushes = 0
    const behind = writeBehind(async () => { flushes++ }, 1000)
    await pipeline(Readable.from([Buffer.alloc(600), Buffer.alloc(600), Buffer.alloc(10)]), behind.counter(), new Writable({ write (_chunk, _encoding, done) { done() } }))
    await behind.done()
    assert.equal(flushes, 1)
  })
})
