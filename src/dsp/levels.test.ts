import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { amplitudeToDb, createLevelMeter } from './levels.ts'
import { sine } from './test-signals.ts'

const RATE = 8000

function interleave (...channels: Float32Array[]): Float32Array {
  const out = new Float32Array(channels[0]!.length * channels.length)
  channels.forEach((channel, c) => channel.forEach((v, i) => { out[i * channels.length + c] = v }))
  return out
}

const near = (actual: number | null | undefined, expected: number, tolerance = 0.05) =>
  assert.ok(actual !== null && actual !== undefined && Math.abs(actual - expected) <= tolerance, `${actual} ≉ ${expected}`)

describe('createLevelMeter', () => {
  it('measures the RMS and peak of each channel; a silent channel is null', () => {
    const meter = createLevelMeter({ channels: 2, sampleRate: RATE })
    meter.push(interleave(sine(1000, RATE, 1, 0.5), new Float32Array(RATE)))
    const { channels, silenceRatio } = meter.result()
    near(channels[0]?.peakDb, -6.02)
    near(channels[0]?.rmsDb, -9.03)
    assert.deepEqual(channels[1], { channel: 1, rmsDb: null, peakDb: null })
    assert.equal(silenceRatio, 0, 'one channel with sound is enough')
  })

  it('counts the silent 50 ms frames', () => {
    const meter = createLevelMeter({ channels: 1, sampleRate: RATE })
    // 1 s tone, 3 s of silence, and a tone at -60 dBFS, below the -50 dBFS default threshold.
    meter.push(sine(440, RATE, 1, 0.5))
    meter.push(new Float32Array(3 * RATE))
    meter.push(sine(440, RATE, 1, 0.001))
    assert.equal(meter.result().silenceRatio, 0.8)
  })

  it('takes its threshold from the options', () => {
    const meter = createLevelMeter({ channels: 1, sampleRate: RATE, silenceThresholdDb: -70 })
    meter.push(sine(440, RATE, 1, 0.001))
    assert.equal(meter.result().silenceRatio, 0)
  })

  it('gives the same result whatever the chunking, and judges a short last frame by its mean', () => {
    const signal = interleave(sine(300, RATE, 1.03, 0.3), sine(500, RATE, 1.03, 0.1))
    const whole = createLevelMeter({ channels: 2, sampleRate: RATE })
    whole.push(signal)
    const chunked = createLevelMeter({ channels: 2, sampleRate: RATE })
    for (let at = 0; at < signal.length; at += 998) chunked.push(signal.subarray(at, at + 998))
    assert.deepEqual(chunked.result(), whole.result())
    assert.equal(whole.result().silenceRatio, 0)
  })

  it('calls nothing at all silence, and refuses partial frames', () => {
    assert.deepEqual(createLevelMeter({ channels: 1, sampleRate: RATE }).result(), { channels: [{ channel: 0, rmsDb: null, peakDb: null }], silenceRatio: 1 })
    assert.throws(() => createLevelMeter({ channels: 2, sampleRate: RATE }).push(new Float32Array(3)), RangeError)
  })
})

describe('amplitudeToDb', () => {
  it('maps full scale to 0 and zero to null', () => {
    assert.equal(amplitudeToDb(1), 0)
    assert.equal(amplitudeToDb(0.1), -20)
    assert.equal(amplitudeToDb(0), null)
  })
})
