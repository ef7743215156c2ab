import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createTempoTracker, estimateTempo } from './tempo.ts'
import { drumPattern, seededRandom, sine } from './test-signals.ts'

const RATE = 22050

describe('estimateTempo', () => {
  for (const bpm of [120, 90, 75, 140]) {
    it(`finds ${bpm} BPM in a drum pattern`, () => {
      const tempo = estimateTempo(drumPattern(bpm, RATE, 12), RATE)
      assert.ok(tempo, 'a tempo')
      assert.ok(Math.abs(tempo.bpm - bpm) <= 2, `detected ${tempo.bpm}`)
      assert.ok(tempo.confidence > 0.5, `confidence ${tempo.confidence}`)
    })
  }

  it('reports drum and bass at 174 BPM or at half time, as listeners tap it either way', () => {
    const tempo = estimateTempo(drumPattern(174, RATE, 12), RATE)
    assert.ok(tempo && [174, 87].some((bpm) => Math.abs(tempo.bpm - bpm) <= 2), `detected ${tempo?.bpm}`)
  })

  it('gives the same answer when fed in chunks', () => {
    const signal = drumPattern(120, RATE, 12)
    const tracker = createTempoTracker(RATE)
    for (let at = 0; at < signal.length; at += 5000) tracker.push(signal.subarray(at, at + 5000))
    assert.deepEqual(tracker.estimate(), estimateTempo(signal, RATE))
  })

  it('finds no beat in silence, a steady tone, white noise or a too short clip', () => {
    assert.equal(estimateTempo(new Float32Array(RATE * 10), RATE), null)
    assert.equal(estimateTempo(sine(440, RATE, 10, 0.5), RATE), null)
    const random = seededRandom(7)
    assert.equal(estimateTempo(Float32Array.from({ length: RATE * 10 }, () => 0.3 * (2 * random() - 1)), RATE), null)
    assert.equal(estimateTempo(drumPattern(120, RATE, 2), RATE), null)
  })
})
