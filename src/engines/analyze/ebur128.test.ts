import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { parseEbur128Summary } from './ebur128.ts'

// Recorded from ffmpeg 5.1 (`-v info -af ebur128=peak=true:framelog=verbose -f null -`).
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')

describe('parseEbur128Summary', () => {
  it('reads integrated loudness, range and true peak', () => {
    assert.deepEqual(parseEbur128Summary(fixture('ebur128-music.stderr.txt')), { integratedLufs: -20, rangeLu: 0.1, truePeakDbtp: -5.2 })
  })

  it('says null for silence: the -70 LUFS gate and a -inf peak', () => {
    assert.deepEqual(parseEbur128Summary(fixture('ebur128-silence.stderr.txt')), { integratedLufs: null, rangeLu: null, truePeakDbtp: null })
  })

  it('reads the last summary, and nothing from a run that never got there', () => {
    const twice = 'Summary:\n I: -30.0 LUFS\n LRA: 2.0 LU\n Peak: -1.0 dBFS\nSummary:\n I: -14.2 LUFS\n LRA: 6.5 LU\n Peak: 0.4 dBFS\n'
    assert.deepEqual(parseEbur128Summary(twice), { integratedLufs: -14.2, rangeLu: 6.5, truePeakDbtp: 0.4 })
    assert.equal(parseEbur128Summary('Input #0, wav\n[error] Invalid data found'), undefined)
  })
})
