import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { estimateKey, keyFromChroma } from './key.ts'
import { drumPattern, melody, seededRandom } from './test-signals.ts'

const RATE = 22050
// MIDI notes: C4 = 60.
const C_MAJOR = [[48, 60, 64, 67], [60], [62], [64], [65], [67], [69], [71], [72], [53, 65, 69, 72], [55, 67, 71, 74], [48, 60, 64, 67]]
// A minor with the harmonic minor's G#: Am, Dm, E, Am, then the scale.
const A_MINOR = [[45, 57, 60, 64], [50, 62, 65, 69], [52, 64, 68, 71], [45, 57, 60, 64], [57], [59], [60], [62], [64], [65], [68], [69], [45, 57, 60, 64]]

describe('estimateKey', () => {
  it('hears C major in a C major cadence and scale', () => {
    const key = estimateKey(melody(C_MAJOR, 0.5, RATE), RATE)
    assert.equal(key?.label, 'C major')
    assert.equal(key.tonic, 'C')
    assert.equal(key.mode, 'major')
    assert.ok(key.confidence > 0.6, `confidence ${key.confidence}`)
  })

  it('hears A minor, not its relative C major', () => {
    assert.equal(estimateKey(melody(A_MINOR, 0.5, RATE), RATE)?.label, 'A minor')
  })

  it('finds the key of a band tuned 40 cents sharp', () => {
    assert.equal(estimateKey(melody(A_MINOR, 0.5, RATE, 40), RATE)?.label, 'A minor')
    assert.equal(estimateKey(melody(C_MAJOR, 0.5, RATE, -40), RATE)?.label, 'C major')
  })

  it('transposes: the C major material up a fifth is G major', () => {
    const up = C_MAJOR.map((notes) => notes.map((note) => note + 7))
    assert.equal(estimateKey(melody(up, 0.5, RATE), RATE)?.label, 'G major')
  })

  it('is not thrown by drums under the harmony', () => {
    const music = melody(C_MAJOR, 0.5, RATE)
    const drums = drumPattern(120, RATE, music.length / RATE)
    assert.equal(estimateKey(music.map((v, i) => v + 0.5 * drums[i]!), RATE)?.label, 'C major')
  })

  it('finds no key in silence, white noise or drums alone', () => {
    assert.equal(estimateKey(new Float32Array(RATE * 5), RATE), null)
    assert.equal(estimateKey(drumPattern(120, RATE, 6), RATE), null)
    const random = seededRandom(3)
    assert.equal(estimateKey(Float32Array.from({ length: RATE * 5 }, () => 0.3 * (2 * random() - 1)), RATE), null)
  })
})

describe('keyFromChroma', () => {
  it('matches the profiles themselves', () => {
    assert.equal(keyFromChroma([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1])?.mode, 'major')
    assert.equal(keyFromChroma([6.33, 2.68, 3.52, 5.38, 2.6, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])?.label, 'C minor')
    assert.equal(keyFromChroma(new Array<number>(12).fill(1)), null)
  })
})
