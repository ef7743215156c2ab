import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { durationUnknown, judgeAudio, judgeWavHeader, MAX_WAV_CHUNKS, walkWav, wavRunsToEnd } from './audio-policy.ts'
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

/** A readAt over bytes in memory, counting how many bytes the walk asked for. */
function reader (bytes: Buffer) {
  const state = { requested: 0 }
  const readAt = (offset: number, length: number) => {
    state.requested += length
    return Promise.resolve(bytes.subarray(offset, offset + length))
  }
  return { readAt, state }
}

function chunk (id: string, size: number, body = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(8)
  header.write(id, 0, 'latin1')
  header.writeUInt32LE(size, 4)
  return Buffer.concat([header, body])
}

// fmt of 16-bit stereo 44.1 kHz PCM: byte rate 176400.
const FMT = chunk('fmt ', 16, Buffer.from('0100020044ac000010b1020004001000', 'hex'))
const riff = (...chunks: Buffer[]) => Buffer.concat([Buffer.from('RIFF\0\0\0\0WAVE', 'latin1'), ...chunks])

describe('walkWav and judgeWavHeader', () => {
  it('steps over a 200 KiB LIST chunk header by header and finds a forged data size behind it', async () => {
    const list = chunk('LIST', 200 * 1024, Buffer.alloc(200 * 1024))
    const file = riff(FMT, list, chunk('data', 36_000 * 176_400 % 2 ** 32, Buffer.alloc(4096)))
    const { readAt, state } = reader(file)
    const layout = await walkWav(readAt, file.length)
    assert.equal(layout?.data?.offset, 12 + 24 + 8 + 200 * 1024 + 8)
    assert.ok(state.requested < 100, `read ${state.requested} bytes`)
    assert.match(judgeWavHeader(layout, file.length) ?? '', /forged: its WAV header promises .* s of audio but it holds 0\.02 s/)
  })

  it('accepts an honest file with a big LIST chunk, and data sizes that mean "until the end"', async () => {
    const list = chunk('LIST', 200 * 1024, Buffer.alloc(200 * 1024))
    const honest = riff(FMT, list, chunk('data', 4096, Buffer.alloc(4096)))
    assert.equal(judgeWavHeader(await walkWav(reader(honest).readAt, honest.length), honest.length), undefined)
    for (const size of [0, 0xffffffff, 0x7ffff000]) {
      const streamed = riff(FMT, chunk('data', size, Buffer.alloc(4096)))
      const layout = await walkWav(reader(streamed).readAt, streamed.length)
      assert.equal(wavRunsToEnd(layout), true)
      assert.equal(judgeWavHeader(layout, streamed.length), undefined)
    }
  })

  it('caps the number of chunks it walks', async () => {
    const many = riff(...Array.from({ length: MAX_WAV_CHUNKS + 1 }, () => chunk('junk', 0)), chunk('data', 4, Buffer.alloc(4)))
    assert.match(judgeWavHeader(await walkWav(reader(many).readAt, many.length), many.length) ?? '', /more than 1000 chunks/)
  })

  it('leaves files that are not RIFF/WAVE alone', async () => {
    const flac = Buffer.from('fLaC\0\0\0\x22', 'latin1')
    assert.equal(await walkWav(reader(flac).readAt, flac.length), undefined)
    assert.equal(judgeWavHeader(undefined, 8), undefined)
  })
})

describe('measured durations', () => {
  const flac = audio({ codecName: 'flac', durationSec: 0 })
  it('are needed when the container states no length, or the WAV runs to its end', () => {
    assert.equal(durationUnknown(probe([flac], 0)), true)
    assert.equal(durationUnknown(probe([audio()], 3)), false)
    assert.equal(durationUnknown(probe([audio()], 3), true), true)
    assert.equal(durationUnknown(probe([], 0)), false)
  })

  it('replace the estimate, and past the limit say "more than" the limit', () => {
    assert.deepEqual(judgeAudio(probe([flac], 0), 48_000, limits, { durationSec: 1.5 }), { facts: { durationSec: 1.5, sampleRate: 44100, channels: 2, codec: 'flac' } })
    const long = judgeAudio(probe([flac], 0), 500_000_000, limits, { durationSec: 4 * 3600 + 1 })
    assert.ok('problem' in long && /more than 14400 s/.test(long.problem) && long.overLimit === 'duration')
    const silent = judgeAudio(probe([flac], 0), 1000, limits, { durationSec: 0 })
    assert.ok('problem' in silent && /decoding it gave 0 s/.test(silent.problem))
    const slow = judgeAudio(probe([flac], 0), 1000, limits, { timedOut: true })
    assert.ok('problem' in slow && /took too long/.test(slow.problem))
  })
})
