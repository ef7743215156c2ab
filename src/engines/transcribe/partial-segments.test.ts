import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { inOrder } from './partial-segments.ts'
import type { TranscriptSegment } from './transcript.ts'

const seg = (start: number) => ({ start, end: start + 1, text: `at ${start}`, words: [] })

describe('partial segments in order', () => {
  it('holds a segment until every earlier one is known, and numbers only the non-empty ones', () => {
    const out: TranscriptSegment[] = []
    const order = inOrder((s) => out.push(s))
    order.put(2, seg(2))
    order.put(3, seg(3))
    assert.equal(out.length, 0)
    order.put(0, seg(0))
    assert.deepEqual(out.map((s) => s.start), [0])
    order.put(1, undefined)
    assert.deepEqual(out.map((s) => [s.id, s.start]), [[0, 0], [1, 2], [2, 3]])
  })

  it('ignores a segment reported twice', () => {
    const out: TranscriptSegment[] = []
    const order = inOrder((s) => out.push(s))
    order.put(0, seg(0))
    order.put(0, seg(0))
    order.put(2, seg(2))
    order.put(2, seg(5))
    order.put(1, seg(1))
    assert.deepEqual(out.map((s) => s.start), [0, 1, 2])
  })
})
