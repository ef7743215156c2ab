import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { splitAtSilence } from './silence-split.ts'
import type { SampleRange } from './silence-split.ts'

const RATE = 16_000

/**
 * Alternating sound/silence spans (seconds) over a faint noise floor, as a room recording has.
 * Sound rises and falls at a syllable rate (4 Hz, 20 dB deep) like speech; `steady` holds it level.
 */
function signal (spans: Array<[kind: 'sound' | 'quiet', seconds: number]>, options: { quietLevel?: number, steady?: boolean } = {}): Float32Array {
  const total = spans.reduce((sum, [, sec]) => sum + Math.round(sec * RATE), 0)
  const out = new Float32Array(total)
  let seed = 12345
  let at = 0
  for (const [kind, sec] of spans) {
    const n = Math.round(sec * RATE)
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0
      const noise = ((seed / 0xffffffff) - 0.5) * 2 * 0.0003
      const t = (at + i) / RATE
      const syllables = options.steady ? 1 : 0.55 + 0.45 * Math.cos(2 * Math.PI * 4 * (i / RATE))
      const voice = kind === 'sound'
        ? syllables * (0.3 * Math.sin(2 * Math.PI * 220 * t) + 0.1 * Math.sin(2 * Math.PI * 660 * t))
        : (options.quietLevel ?? 0) * Math.sin(2 * Math.PI * 100 * t)
      out[at + i] = voice + noise
    }
    at += n
  }
  return out
}

const sec = (r: SampleRange) => ({ start: r.start / RATE, end: r.end / RATE })
const lengths = (ranges: SampleRange[]) => ranges.map((r) => (r.end - r.start) / RATE)

describe('splitAtSilence', () => {
  it('finds nothing in silence or in steady noise', () => {
    assert.deepEqual(splitAtSilence(new Int16Array(RATE * 3)), [])
    assert.deepEqual(splitAtSilence(signal([['quiet', 5]])), [])
    assert.deepEqual(splitAtSilence(new Float32Array(0)), [])
  })

  it('trims leading and trailing silence, keeping a little padding', () => {
    const [only, ...rest] = splitAtSilence(signal([['quiet', 2], ['sound', 3], ['quiet', 2]])).map(sec)
    assert.equal(rest.length, 0)
    assert.ok(only)
    assert.ok(Math.abs(only.start - 1.8) < 0.02, `start ${only.start}`)
    assert.ok(Math.abs(only.end - 5.2) < 0.02, `end ${only.end}`)
  })

  it('cuts at a long pause even when everything would fit in one segment', () => {
    const ranges = splitAtSilence(signal([['sound', 4], ['quiet', 1.5], ['sound', 4]])).map(sec)
    assert.equal(ranges.length, 2)
    assert.ok((ranges[0]?.end ?? 0) <= 4.5 && (ranges[1]?.start ?? 0) >= 5)
  })

  it('keeps short pauses inside a segment that fits', () => {
    const ranges = splitAtSilence(signal([['sound', 4], ['quiet', 0.4], ['sound', 4], ['quiet', 0.3], ['sound', 4]]))
    assert.equal(ranges.length, 1)
  })

  it('never exceeds the limit and cuts only inside pauses', () => {
    const spans: Array<['sound' | 'quiet', number]> = []
    const pauses: Array<[number, number]> = []
    let t = 0
    for (let i = 0; i < 16; i++) {
      spans.push(['sound', 4.6])
      t += 4.6
      spans.push(['quiet', 0.35])
      pauses.push([t, t + 0.35])
      t += 0.35
    }
    const ranges = splitAtSilence(signal(spans))
    assert.ok(ranges.length >= 3)
    for (const length of lengths(ranges)) assert.ok(length <= 30, `segment of ${length} s`)
    for (const r of ranges.slice(0, -1).map(sec)) {
      assert.ok(pauses.some(([from, to]) => r.end >= from - 0.01 && r.end <= to + 0.01), `cut at ${r.end} s is not in a pause`)
    }
  })

  it('prefers the longer, deeper pause to a shorter one nearer the limit', () => {
    const ranges = splitAtSilence(signal([['sound', 20], ['quiet', 0.6], ['sound', 6], ['quiet', 0.26], ['sound', 10]])).map(sec)
    assert.equal(ranges.length, 2)
    assert.ok(Math.abs((ranges[0]?.end ?? 0) - 20.2) < 0.05, `cut at ${ranges[0]?.end}`)
  })

  it('prefers the pause nearer the limit when pauses are alike', () => {
    const ranges = splitAtSilence(signal([['sound', 8], ['quiet', 0.4], ['sound', 18], ['quiet', 0.4], ['sound', 10]])).map(sec)
    assert.equal(ranges.length, 2)
    assert.ok(Math.abs((ranges[0]?.end ?? 0) - 26.6) < 0.05, `cut at ${ranges[0]?.end}`)
  })

  it('hard-cuts speech without any pause into contiguous pieces of at most the limit', () => {
    const ranges = splitAtSilence(signal([['sound', 75]], { steady: true }), { maxSec: 30 })
    assert.equal(ranges.length, 3)
    for (const length of lengths(ranges)) assert.ok(length <= 30)
    for (let i = 1; i < ranges.length; i++) assert.equal(ranges[i]?.start, ranges[i - 1]?.end)
    assert.equal(ranges[0]?.start, 0)
    assert.equal(ranges.at(-1)?.end, 75 * RATE)
  })

  it('treats a quiet hum under the speech level as silence', () => {
    const ranges = splitAtSilence(signal([['sound', 3], ['quiet', 2], ['sound', 3]], { quietLevel: 0.002 }))
    assert.equal(ranges.length, 2)
  })

  it('drops clicks too short to be speech', () => {
    const ranges = splitAtSilence(signal([['sound', 3], ['quiet', 2], ['sound', 0.03], ['quiet', 2], ['sound', 3]]))
    assert.equal(ranges.length, 2)
  })

  it('reads Int16 and Float32 alike, and honours a shorter limit', () => {
    const float = signal([['sound', 12], ['quiet', 0.3], ['sound', 12]])
    const int = Int16Array.from(float, (v) => Math.round(v * 32767))
    assert.deepEqual(splitAtSilence(int, { maxSec: 15 }), splitAtSilence(float, { maxSec: 15 }))
    for (const length of lengths(splitAtSilence(float, { maxSec: 15 }))) assert.ok(length <= 15)
  })
})
