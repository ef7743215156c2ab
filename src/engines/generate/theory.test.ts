import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { chordOf, chordPitchClasses, KEY_PATTERN, keyName, keySignature, parseKey, scaleOver } from './theory.ts'

const A_MINOR = { tonic: 9, mode: 'minor' as const }
const C_MAJOR = { tonic: 0, mode: 'major' as const }

describe('keys', () => {
  it('parses what KEY_PATTERN admits', () => {
    const pattern = new RegExp(KEY_PATTERN)
    for (const [text, key] of [['A minor', A_MINOR], ['F#m', { tonic: 6, mode: 'minor' }], ['Bb major', { tonic: 10, mode: 'major' }], ['C', C_MAJOR], ['eb min', { tonic: 3, mode: 'minor' }], ['Gmaj', { tonic: 7, mode: 'major' }]] as const) {
      assert.ok(pattern.test(text), text)
      assert.deepEqual(parseKey(text), key, text)
    }
    for (const text of ['H', 'A minorr', 'A  minor', 'C##', 'minor', '-C', 'A mixolydian']) assert.ok(!pattern.test(text), text)
  })

  it('names keys conventionally and knows their signatures', () => {
    assert.equal(keyName({ tonic: 6, mode: 'major' }), 'F# major')
    assert.equal(keyName({ tonic: 1, mode: 'minor' }), 'C# minor')
    assert.equal(keyName({ tonic: 10, mode: 'major' }), 'Bb major')
    assert.equal(keySignature(C_MAJOR), 0)
    assert.equal(keySignature(A_MINOR), 0)
    assert.equal(keySignature({ tonic: 4, mode: 'minor' }), 1)
    assert.equal(keySignature({ tonic: 5, mode: 'major' }), -1)
  })
})

describe('chords', () => {
  it('counts degrees along the key\'s own scale, with the quality the numeral writes', () => {
    assert.deepEqual(chordPitchClasses(chordOf('VI', A_MINOR)), [5, 9, 0])
    assert.deepEqual(chordPitchClasses(chordOf('iv7', A_MINOR)), [2, 5, 9, 0])
    // V in minor brings its leading tone, G#.
    assert.deepEqual(chordPitchClasses(chordOf('V7', A_MINOR)), [4, 8, 11, 2])
    assert.deepEqual(chordPitchClasses(chordOf('iiø7', A_MINOR)), [11, 2, 5, 9])
    assert.deepEqual(chordPitchClasses(chordOf('Imaj7', C_MAJOR)), [0, 4, 7, 11])
    assert.deepEqual(chordPitchClasses(chordOf('bVII', C_MAJOR)), [10, 2, 5])
    assert.deepEqual(chordPitchClasses(chordOf('vii°', C_MAJOR)), [11, 2, 5])
    assert.throws(() => chordOf('X', C_MAJOR), /Roman numeral/)
  })

  it('gives the melody the chord\'s own tones in place of the degrees they alter', () => {
    assert.deepEqual(scaleOver(chordOf('V', A_MINOR), A_MINOR), [0, 2, 4, 5, 8, 9, 11])
    assert.deepEqual(scaleOver(chordOf('bVII', C_MAJOR), C_MAJOR), [0, 2, 4, 5, 7, 9, 10])
    assert.deepEqual(scaleOver(chordOf('IV', C_MAJOR), C_MAJOR), [0, 2, 4, 5, 7, 9, 11])
  })
})
