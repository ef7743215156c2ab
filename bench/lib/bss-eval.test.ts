import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { bssEval, createBssEval, frames, trackScore, type Signal } from './bss-eval.ts'

const RATE = 8000

function noise (seed: number, length: number, amplitude = 0.3): Float32Array {
  let state = seed >>> 0
  return Float32Array.from({ length }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return amplitude * (2 * (state / 2 ** 32) - 1)
  })
}

/** Band-limited noise, so that delayed copies of it are not orthogonal (like music). */
function music (seed: number, length: number): Float32Array {
  const white = noise(seed, length)
  const out = new Float32Array(length)
  let a = 0
  let b = 0
  for (let n = 0; n < length; n++) {
    a = 0.9 * a + 0.1 * white[n]!
    b = 0.9 * b + 0.1 * a
    out[n] = 5 * b
  }
  return out
}

const stereo = (seed: number, seconds: number): Signal => [music(seed, seconds * RATE), music(seed + 1, seconds * RATE)]
const map = (signal: Signal, f: (channel: Float32Array) => Float32Array): Signal => signal.map(f)
const delay = (by: number) => (x: Float32Array) => Float32Array.from(x, (_, n) => n >= by ? x[n - by]! : 0)
const fir = (taps: number[]) => (x: Float32Array) => Float32Array.from(x, (_, n) => taps.reduce((sum, t, k) => sum + (n >= k ? t * x[n - k]! : 0), 0))
const plus = (a: Float32Array, b: Float32Array, gain = 1) => Float32Array.from(a, (v, n) => v + gain * b[n]!)
const energy = (x: Float32Array) => x.reduce((s, v) => s + v * v, 0)
const options = { window: RATE, hop: RATE, filtersLen: 32 }
const median = (frames: Float64Array) => trackScore(frames)

describe('BSS Eval v4 (museval)', () => {
  const refs = [stereo(1, 4), stereo(10, 4)]

  it('frames as museval does: whole windows only, one frame when the window covers the track', () => {
    assert.deepEqual(frames(10, 4, 4), [[0, 4], [4, 8]])
    assert.deepEqual(frames(10, 4, 3), [[0, 4], [3, 7], [6, 10]])
    assert.deepEqual(frames(10, Infinity, Infinity), [[0, 10]])
    assert.deepEqual(frames(10, 20, 20), [[0, 10]])
  })

  it('an estimate equal to its reference scores infinite SDR, which the track median skips', () => {
    const scores = bssEval(refs, refs, options)
    assert.ok(scores.sdr.every((frames) => frames.every((v) => v === Infinity)))
    assert.ok(Number.isNaN(median(scores.sdr[0]!)))
  })

  it('a reference plus noise 60 dB down scores about 60 dB', () => {
    const estimates = refs.map((s, j) => s.map((c, k) => plus(c, noise(100 + 2 * j + k, c.length), Math.sqrt(energy(c) / energy(noise(100 + 2 * j + k, c.length))) * 1e-3)))
    const scores = bssEval(refs, estimates, options)
    for (const frames of scores.sdr) assert.ok(Math.abs(median(frames) - 60) < 1.5, `SDR ${median(frames)}`)
  })

  it('a reference plus noise at −10 dB scores about 10 dB', () => {
    const estimates = refs.map((s, j) => s.map((c, k) => {
      const n = noise(200 + 2 * j + k, c.length)
      return plus(c, n, Math.sqrt(energy(c) / energy(n) / 10))
    }))
    const scores = bssEval(refs, estimates, options)
    for (const frames of scores.sdr) assert.ok(Math.abs(median(frames) - 10) < 0.5, `SDR ${median(frames)}`)
  })

  it('the other source as the estimate scores very low: no SDR, and SIR far below zero', () => {
    const scores = bssEval(refs, [refs[1]!, refs[0]!], { ...options, metrics: 'all' })
    for (let j = 0; j < 2; j++) {
      assert.ok(median(scores.sdr[j]!) < 0, `SDR ${median(scores.sdr[j]!)}`)
      assert.ok(median(scores.sir![j]!) < -20, `SIR ${median(scores.sir![j]!)}`)
    }
  })

  it('a delayed or filtered estimate: the distortion filter absorbs it (SIR, SAR and the sources-version SDR stay high); the v4 SDR counts it as distortion', () => {
    for (const change of [delay(3), fir([0.6, 0.3, -0.2, 0.1])]) {
      const estimates = refs.map((s) => map(s, change))
      const images = bssEval(refs, estimates, { ...options, metrics: 'all' })
      const sources = bssEval(refs, estimates, { ...options, sourcesVersion: true })
      for (let j = 0; j < 2; j++) {
        assert.ok(median(sources.sdr[j]!) > 30, `sources SDR ${median(sources.sdr[j]!)}`)
        assert.ok(median(images.sir![j]!) > 30, `SIR ${median(images.sir![j]!)}`)
        assert.ok(median(images.sar![j]!) > 30, `SAR ${median(images.sar![j]!)}`)
        // museval's algebra: the v4 SDR is the plain signal-to-error ratio, the same with or without filters
        assert.ok(median(images.sdr[j]!) < 20)
        assert.ok(Math.abs(median(images.isr![j]!) - median(images.sdr[j]!)) < 1)
        assert.deepEqual(images.sdr[j], bssEval(refs, estimates, options).sdr[j])
      }
    }
  })

  it('works with museval\'s default 512 taps on a stereo pair (one source)', () => {
    const ref = [stereo(30, 2)]
    const scores = bssEval(ref, [map(ref[0]!, fir([0.5, 0, 0, 0.3, 0.2]))], { window: RATE, hop: RATE, sourcesVersion: true })
    assert.ok(median(scores.sdr[0]!) > 25, `SDR ${median(scores.sdr[0]!)}`)
  })

  it('solves systems of any size (an odd number of unknowns, not a whole number of panels)', () => {
    const mono = [[music(40, 2 * RATE)], [music(41, 2 * RATE)], [music(42, 2 * RATE)]]
    const scores = bssEval(mono, mono.map((s) => map(s, fir([0.7, 0.2, 0.1]))), { window: RATE, hop: RATE, filtersLen: 37, sourcesVersion: true })
    for (const frames of scores.sdr) assert.ok(median(frames) > 30, `SDR ${median(frames)}`)
  })

  it('solves a rank-deficient system (a pure tone: delayed copies span two dimensions) as numpy would', () => {
    const tone = (phase: number) => Float32Array.from({ length: 2 * RATE }, (_, n) => 0.5 * Math.sin(2 * Math.PI * 440 * n / RATE + phase))
    const ref = [[tone(0), tone(1)]]
    const scores = bssEval(ref, [map(ref[0]!, delay(2))], { ...options, sourcesVersion: true })
    assert.ok(median(scores.sdr[0]!) > 25, `SDR ${median(scores.sdr[0]!)}`)
  })

  it('a frame in which any reference is silent is NaN for every source, and the median skips it', () => {
    const gap: Signal[] = [refs[0]!.map((c) => Float32Array.from(c, (v, n) => n >= RATE && n < 2 * RATE ? 0 : v)), refs[1]!]
    const estimates = gap.map((s, j) => s.map((c, k) => {
      const n = noise(300 + 2 * j + k, c.length)
      return plus(c, n, Math.sqrt(energy(c) / energy(n) / 10))
    }))
    const scores = bssEval(gap, estimates, options)
    for (const frames of scores.sdr) {
      assert.ok(Number.isNaN(frames[1]!))
      assert.equal(frames.filter(Number.isFinite).length, 3)
      assert.ok(Number.isFinite(median(frames)))
    }
  })

  it('refuses what museval refuses: different shapes, a silent source', () => {
    assert.throws(() => bssEval(refs, [refs[0]!]), /estimates/)
    assert.throws(() => bssEval(refs, [refs[0]!, [refs[1]![0]!]]), /shape/)
    const silent = [refs[0]!, refs[1]!.map((c) => new Float32Array(c.length))]
    assert.throws(() => bssEval(silent, refs), /reference source is silent/)
    assert.throws(() => bssEval(refs, silent), /estimated source is silent/)
  })

  it('scores many estimate sets against references prepared once', () => {
    const evaluator = createBssEval(refs, { ...options, metrics: 'all' })
    const first = evaluator.evaluate(refs.map((s) => map(s, delay(1))))
    const again = evaluator.evaluate(refs.map((s) => map(s, delay(1))))
    assert.deepEqual(first, again)
  })
})
