import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { pcm16WavWriter, readWav, writeFloatWav } from './wav.ts'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-wav-test-'))
after(() => { fs.rmSync(dir, { recursive: true, force: true }) })
const ramp = (length: number, scale: number) => Float32Array.from({ length }, (_, n) => scale * Math.sin(n / 7))

describe('bench WAV files', () => {
  it('round-trips 32-bit float exactly, values past full scale included', () => {
    const channels = [ramp(1001, 1.5), ramp(1001, -0.25)]
    const file = path.join(dir, 'float.wav')
    writeFloatWav(file, { sampleRate: 44100, channels })
    const back = readWav(file)
    assert.equal(back.sampleRate, 44100)
    assert.deepEqual(back.channels, channels)
  })

  it('writes 16-bit PCM in blocks and reads it back within two steps, clipping at full scale', () => {
    const file = path.join(dir, 'pcm.wav')
    const writer = pcm16WavWriter(file, 2, 22050, 300)
    const left = ramp(300, 1.2)
    const right = ramp(300, 0.5)
    writer.write([left.subarray(0, 100), right.subarray(0, 100)])
    writer.write([left.subarray(100), right.subarray(100)])
    writer.close()
    const back = readWav(file)
    assert.equal(back.sampleRate, 22050)
    assert.equal(back.channels[0]!.length, 300)
    back.channels[0]!.forEach((v, n) => { assert.ok(Math.abs(v - Math.max(-1, Math.min(1, left[n]!))) <= 2 / 32768) })
    back.channels[1]!.forEach((v, n) => { assert.ok(Math.abs(v - right[n]!) <= 2 / 32768) })
  })

  it('refuses what is not a WAV file', () => {
    const file = path.join(dir, 'text.wav')
    fs.writeFileSync(file, 'not audio at all, just text')
    assert.throws(() => readWav(file), /not a WAV file/)
  })
})
