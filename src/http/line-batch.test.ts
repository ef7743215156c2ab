import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { destination } from 'pino'
import { LineBatch } from './line-batch.ts'

/** A destination that records what reaches it: each write, and the synchronous flushes. */
function recorder () {
  const writes: string[] = []
  let flushes = 0
  const inner = { write: (data: string) => { writes.push(data); return true }, flushSync: () => { flushes++ } }
  return { writes, flushes: () => flushes, inner: inner as unknown as ReturnType<typeof destination> }
}

const turn = () => new Promise((resolve) => setImmediate(resolve))

describe('LineBatch', () => {
  it('hands the lines of one event-loop turn to the destination as one write, in order, at the end of the turn', async () => {
    const { writes, inner } = recorder()
    const batch = new LineBatch(inner)
    batch.write('a\n')
    batch.write('b\n')
    batch.write('c\n')
    assert.deepEqual(writes, [], 'nothing is written while the turn runs')
    await turn()
    assert.deepEqual(writes, ['a\nb\nc\n'])
    batch.write('d\n')
    await turn()
    assert.deepEqual(writes, ['a\nb\nc\n', 'd\n'], 'a lone line leaves in the next turn, unchanged')
    await turn()
    assert.equal(writes.length, 2, 'an empty turn writes nothing')
    batch.close()
  })

  it('writes what waits, synchronously, on flushSync (the exit path)', () => {
    const { writes, flushes, inner } = recorder()
    const batch = new LineBatch(inner)
    batch.write('last\n')
    batch.flushSync()
    assert.deepEqual(writes, ['last\n'])
    assert.equal(flushes(), 1)
    batch.close()
  })

  it('flushes at process exit until closed, and close releases what waits', () => {
    const before = process.listenerCount('exit')
    const { writes, inner } = recorder()
    const batch = new LineBatch(inner)
    assert.equal(process.listenerCount('exit'), before + 1)
    batch.write('x\n')
    batch.close()
    assert.deepEqual(writes, ['x\n'])
    assert.equal(process.listenerCount('exit'), before)
  })
})
