import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createStft } from './stft.ts'

const sine = (frequency: number, sampleRate: number, length: number, amplitude = 1) =>
  Float32Array.from({ length }, (_, t) => amplitude * Math.sin((2 * Math.PI * frequency * t) / sampleRate))

describe('createStft', () => {
  it('emits one frame per hop once the first frame is full, whatever the chunking', () => {
    const signal = sine(1000, 16000, 16000)
    const whole: number[][] = []
    createStft({ size: 512, hop: 128, onFrame: (m) => whole.push(Array.from(m)) }).push(signal)
    const chunked: number[][] = []
    const stft = createStft({ size: 512, hop: 128, onFrame: (m) => chunked.push(Array.from(m)) })
    for (let at = 0; at < signal.length; at += 777) stft.push(signal.subarray(at, at + 777))
    assert.equal(whole.length, Math.floor((16000 - 512) / 128) + 1)
    assert.deepEqual(chunked, whole)
  })

  it('scales a full-scale sine to about 1 at its bin', () => {
    const frames: Float32Array[] = []
    createStft({ size: 1024, hop: 1024, onFrame: (m) => frames.push(m.slice()) }).push(sine(1000, 16000, 4096, 0.5))
    const bin = Math.round((1000 * 1024) / 16000)
    for (const frame of frames) assert.ok(Math.abs(frame[bin]! - 0.5) < 0.01, `bin ${bin} reads ${frame[bin]}`)
  })
})
