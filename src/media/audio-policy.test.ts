import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { judgeAudio } from './audio-policy.ts'
import { parseProbe, type ProbeResult, type ProbeStream } from './probe.ts'

const limits = { maxDurationSec: 4 * 3600, maxSampleRate: 384_000, maxChannels: 32 }
const audio = (over: Partial<ProbeStream> = {}): ProbeStream => ({
  codecType: 'audio', codecName: 'mp3', sampleRate: 44100, channels: 2, attachedPicture: false, bitsPerSample: 0, durationSec: 3, ...over
})
const probe = (streams: ProbeStream[], durationSec = 3): ProbeResult => ({ formatName: 'x', durationSec, bitRate: 0, streams })

describe('judgeAudio', () => {
  it('accepts ordinary audio and reports its facts', () => {
    const verdict = judgeAudio(probe([audio()]), 48_000, limits)
    assert.deepEqual(verdict, { facts: { durationSec: 3, sampleRate: 44100, channels: 2, codec: 'mp3' } })
  })

  it('refuses a file with no audio stream, or with video', () => {
    assert.ok('problem' in judgeAudio(probe([]), 1000, limits))
    assert.ok('problem' in judgeAudio(probe([audio(), { ...audio(), codecType: 'video', codecName: 'h264' }]), 48_000, limits))
  })

  it('allows cover art (an attached picture)', () => {
    const verdict = judgeAudio(probe([audio(), { ...audio(), codecType: 'video', codecName: 'mjpeg', attachedPicture: true }]), 48_000, limits)
    assert.ok('facts' in verdict)
  })

  it('refuses zero duration and durations over the limit', () => {
    assert.ok('problem' in judgeAudio(probe([audio({ durationSec: 0 })], 0), 1000, limits))
    const long = judgeAudio(probe([audio()], 5 * 3600), 500_000_000, limits)
    assert.ok('problem' in long && /limit/.test(long.problem))
    assert.equal('problem' in long && long.overLimit, 'duration')
  })

  it('refuses a file that claims far more audio than its bytes can hold', () => {
    const bomb = judgeAudio(probe([audio()], 3600), 4096, limits)
    assert.ok('problem' in bomb && /claims/.test(bomb.problem))
  })

  it('refuses truncated PCM whose header promises more than the file holds', () => {
    const pcm = audio({ codecName: 'pcm_s16le', bitsPerSample: 16 })
    assert.ok('facts' in judgeAudio(probe([pcm], 1), 176_444, limits))
    assert.ok('problem' in judgeAudio(probe([pcm], 1), 50_000, limits))
  })

  it('refuses absurd sample rates and channel counts', () => {
    assert.ok('problem' in judgeAudio(probe([audio({ sampleRate: 10_000_000 })]), 48_000, limits))
    assert.ok('problem' in judgeAudio(probe([audio({ channels: 0 })]), 48_000, limits))
  })
})

describe('parseProbe', () => {
  it('reads the facts from ffprobe JSON', () => {
    const result = parseProbe(JSON.stringify({
      format: { format_name: 'wav', duration: '3.000000', bit_rate: '1411200' },
      streams: [{ codec_type: 'audio', codec_name: 'pcm_s16le', sample_rate: '44100', channels: 2, bits_per_sample: 16, disposition: { attached_pic: 0 } }]
    }))
    assert.equal(result.durationSec, 3)
    assert.equal(result.streams[0]?.sampleRate, 44100)
    assert.equal(result.streams[0]?.attachedPicture, false)
  })
})
