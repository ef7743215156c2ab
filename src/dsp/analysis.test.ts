import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createAnalysis } from './analysis.ts'
import { drumPattern, melody } from './test-signals.ts'

const RATE = 22050
const C_MAJOR = [[48, 60, 64, 67], [53, 65, 69, 72], [55, 67, 71, 74], [48, 60, 64, 67]]

describe('createAnalysis', () => {
  it('measures levels, peaks, tempo and key from chunks of stereo and mono', () => {
    const tune = melody([...C_MAJOR, ...C_MAJOR, ...C_MAJOR], 1, RATE)
    const drums = drumPattern(120, RATE, tune.length / RATE)
    const mono = tune.map((v, i) => v + 0.5 * drums[i]!)
    const stereo = new Float32Array(mono.length * 2)
    mono.forEach((v, i) => { stereo[2 * i] = v })
    const analysis = createAnalysis({ channels: 2, sampleRate: RATE, monoSampleRate: RATE, buckets: 100 })
    for (let at = 0; at < mono.length; at += RATE) {
      analysis.pushPcm(stereo.subarray(2 * at, 2 * (at + RATE)))
      analysis.pushMono(mono.subarray(at, at + RATE))
    }
    const result = analysis.finish()
    assert.equal(result.frames, mono.length)
    assert.ok(result.levels[0]!.rmsDb! < 0 && result.levels[1]!.rmsDb === null)
    assert.equal(result.silenceRatio, 0)
    assert.ok(Math.abs(result.tempo!.bpm - 120) < 2, `tempo ${result.tempo?.bpm}`)
    assert.equal(result.key?.label, 'C major')
    assert.equal(result.peaks.length, 2)
    assert.equal(result.peaks[0]!.max.length, 100)
    assert.ok(result.peaks[0]!.max.every((v) => v > 0))
  })

  it('ignores mono audio past the tonal window', () => {
    const analysis = createAnalysis({ channels: 1, sampleRate: 8000, monoSampleRate: 8000, buckets: 10, tonalWindowSeconds: 10 })
    // A 120 BPM beat only after the window: the tempo tracker must not hear it.
    analysis.pushMono(new Float32Array(10 * 8000))
    analysis.pushMono(drumPattern(120, 8000, 10))
    assert.equal(analysis.finish().tempo, null)
  })
})
