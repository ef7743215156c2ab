import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { REFERENCE_STEMS } from './compose.ts'
import { SAMPLE_RATE, loadStems, testSet } from './testset.ts'
import { readWav } from './wav.ts'

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-testset-test-'))
after(() => { fs.rmSync(root, { recursive: true, force: true }) })

const energy = (x: Float32Array, from = 0, to = x.length) => {
  let sum = 0
  for (let n = from; n < to; n++) sum += x[n]! * x[n]!
  return sum
}

describe('the separation test set', () => {
  it('renders a mixture from separate stems: 44.1 kHz stereo, their exact sum, voice centred, chords wide, no silent second', async () => {
    const [mixture] = await testSet({ count: 1, cacheRoot: root })
    const stems = loadStems(mixture!)
    const mix = readWav(mixture!.mixturePath)
    const frames = Math.round(mixture!.song.durationSec * SAMPLE_RATE)
    assert.equal(mix.sampleRate, SAMPLE_RATE)
    assert.equal(mix.channels.length, 2)
    assert.equal(mix.channels[0]!.length, frames)
    for (let c = 0; c < 2; c++) {
      let worst = 0
      for (let n = 0; n < frames; n++) worst = Math.max(worst, Math.abs(REFERENCE_STEMS.reduce((s, stem) => s + stems[stem].channels[c]![n]!, 0) - mix.channels[c]![n]!))
      assert.ok(worst < 1e-6, `the stems sum to the mixture (off by ${worst})`)
    }
    assert.deepEqual(stems.vocals.channels[0], stems.vocals.channels[1], 'the voice is centred')
    const [left, right] = stems.other.channels
    const side = energy(Float32Array.from(left!, (v, n) => v - right![n]!))
    assert.ok(side > 0.2 * energy(left!), 'the chords are panned wide')
    // museval drops a 1-s frame in which any reference is silent: none of the set's are.
    for (const stem of REFERENCE_STEMS) {
      for (let start = 0; start + SAMPLE_RATE <= frames; start += SAMPLE_RATE) {
        assert.ok(energy(stems[stem].channels[0]!, start, start + SAMPLE_RATE) > 0, `${stem} sounds in second ${start / SAMPLE_RATE}`)
      }
    }
    // A second call finds it in the cache instead of rendering again.
    const before = fs.statSync(mixture!.mixturePath).mtimeMs
    await testSet({ count: 1, cacheRoot: root })
    assert.equal(fs.statSync(mixture!.mixturePath).mtimeMs, before)
  })
})
