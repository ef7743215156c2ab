import type { ProbeResult } from './probe.ts'

export interface AudioLimits {
  maxDurationSec: number
  maxSampleRate: number
  maxChannels: number
}

export const DEFAULT_AUDIO_LIMITS = { maxSampleRate: 384_000, maxChannels: 32 } as const

export interface AudioFacts {
  durationSec: number
  sampleRate: number
  channels: number
  codec: string
}

// Below this average bit rate a file claims more audio than its bytes can hold (no codec
// Tympan accepts goes under ~6 kbit/s): the "10 hours in a few KB" bomb.
const MIN_PLAUSIBLE_BITS_PER_SECOND = 2000

/**
 * Pure: does what ffprobe saw make an acceptable audio file? Returns the facts, or the
 * client-facing reason it does not (`overLimit` names a configured limit that was exceeded,
 * as opposed to a file that is not valid audio).
 */
export function judgeAudio (probe: ProbeResult, sizeBytes: number, limits: AudioLimits): { facts: AudioFacts } | { problem: string, overLimit?: 'duration' } {
  const audio = probe.streams.filter((s) => s.codecType === 'audio')
  const first = audio[0]
  if (!first) return { problem: 'The file contains no audio stream' }
  if (probe.streams.some((s) => s.codecType === 'video' && !s.attachedPicture)) {
    return { problem: 'The file contains video; upload audio only' }
  }
  const durationSec = probe.durationSec || first.durationSec
  if (!(durationSec > 0)) return { problem: 'The file holds no playable audio (zero duration)' }
  if (durationSec > limits.maxDurationSec) {
    return { problem: `The audio lasts ${Math.round(durationSec)} s; the limit is ${limits.maxDurationSec} s`, overLimit: 'duration' }
  }
  if ((sizeBytes * 8) / durationSec < MIN_PLAUSIBLE_BITS_PER_SECOND) {
    return { problem: `The file claims ${Math.round(durationSec)} s of audio but holds only ${sizeBytes} bytes` }
  }
  // Uncompressed PCM has an exact size: a header that promises more than the file holds is truncated.
  if (first.codecName.startsWith('pcm_') && first.bitsPerSample > 0) {
    const expected = durationSec * first.sampleRate * first.channels * (first.bitsPerSample / 8)
    if (sizeBytes < expected * 0.9) return { problem: 'The file is truncated: its header promises more audio than it contains' }
  }
  if (!(first.sampleRate > 0) || first.sampleRate > limits.maxSampleRate) return { problem: `Unsupported sample rate ${first.sampleRate} Hz` }
  if (!(first.channels > 0) || first.channels > limits.maxChannels) return { problem: `Unsupported channel count ${first.channels}` }
  return { facts: { durationSec, sampleRate: first.sampleRate, channels: first.channels, codec: first.codecName } }
}

/**
 * Pure: does a RIFF/WAVE header promise more audio than the file holds? ffprobe cannot see
 * this lie: when the data chunk runs past the end of the file it estimates the duration from
 * the file size, so "10 hours in 4 KB" probes as 0.05 s of clean audio. Returns the
 * client-facing reason, or undefined (not RIFF/WAVE, no data chunk in `head`, or honest).
 */
export function judgeWavHeader (head: Buffer, sizeBytes: number): string | undefined {
  if (head.length < 12 || head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WAVE') return undefined
  let byteRate = 0
  for (let offset = 12; offset + 8 <= head.length;) {
    const id = head.toString('latin1', offset, offset + 4)
    const size = head.readUInt32LE(offset + 4)
    if (id === 'fmt ' && size >= 16 && offset + 20 <= head.length) byteRate = head.readUInt32LE(offset + 16)
    if (id === 'data') {
      // 0 and 0xFFFFFFFF are what streaming writers put before they know the length: "until the end".
      if (size === 0 || size === 0xffffffff) return undefined
      const held = Math.max(0, sizeBytes - offset - 8)
      if (held >= size * 0.9) return undefined
      const amount = (bytes: number) => byteRate > 0 ? `${Math.round((bytes / byteRate) * 100) / 100} s` : `${bytes} bytes`
      return `The file is truncated or forged: its WAV header promises ${amount(size)} of audio but it holds ${amount(held)}`
    }
    offset += 8 + size + (size % 2)
  }
  return undefined
}
