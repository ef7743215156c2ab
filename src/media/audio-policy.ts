import type { Measured, ProbeResult } from './probe.ts'

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
export function judgeAudio (probe: ProbeResult, sizeBytes: number, limits: AudioLimits, measured?: Measured): { facts: AudioFacts } | { problem: string, overLimit?: 'duration' } {
  const audio = probe.streams.filter((s) => s.codecType === 'audio')
  const first = audio[0]
  if (!first) return { problem: 'The file contains no audio stream' }
  if (probe.streams.some((s) => s.codecType === 'video' && !s.attachedPicture)) {
    return { problem: 'The file contains video; upload audio only' }
  }
  if (measured && 'timedOut' in measured) return { problem: 'The file does not state its length, and decoding it to measure took too long' }
  const durationSec = measured ? measured.durationSec : probe.durationSec || first.durationSec
  if (!(durationSec > 0)) {
    return { problem: measured ? 'The file holds no playable audio: decoding it gave 0 s' : 'The file holds no playable audio (zero duration)' }
  }
  // The measurement stops just past the limit, so it says "more than", not how long.
  if (measured && durationSec > limits.maxDurationSec) {
    return { problem: `The audio lasts more than ${limits.maxDurationSec} s, the limit (measured by decoding: the file does not state its length)`, overLimit: 'duration' }
  }
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
 * Pure: must the length be measured by decoding? When the container names an audio stream
 * but no length (a FLAC written to a pipe leaves its total-samples field at 0, "unknown" and
 * valid, and ffprobe then reports no duration), and when a WAV runs until the end of the
 * file: ffprobe then estimates the length from the header's byte rate, which for ADPCM
 * written to a pipe is nearly three times too long.
 */
export function durationUnknown (probe: ProbeResult, wavUntilEnd = false): boolean {
  const first = probe.streams.find((s) => s.codecType === 'audio')
  if (!first) return false
  return wavUntilEnd || (!(probe.durationSec > 0) && !(first.durationSec > 0))
}

export type ReadAt = (offset: number, length: number) => Promise<Buffer>

export interface WavLayout {
  byteRate: number
  /** Where the samples start and how many bytes the header says they take. */
  data?: { offset: number, size: number }
  /** A chunk list that cannot be walked within the cap (the client-facing reason). */
  problem?: string
}

// Real WAV files carry a handful of chunks (fmt, LIST, bext, cue, data); this many before the
// data is a file built to make the walk expensive.
export const MAX_WAV_CHUNKS = 1000

/**
 * The chunk list of a RIFF/WAVE file, walked by offset through the whole file (a LIST or
 * bext chunk of any size before `data` is stepped over, not read): only each 8-byte chunk
 * header and the `fmt ` fields are read, through `readAt`. undefined when the file is not
 * RIFF/WAVE (RF64 and others are left to ffprobe).
 */
export async function walkWav (readAt: ReadAt, sizeBytes: number): Promise<WavLayout | undefined> {
  const riff = await readAt(0, 12)
  if (riff.length < 12 || riff.toString('latin1', 0, 4) !== 'RIFF' || riff.toString('latin1', 8, 12) !== 'WAVE') return undefined
  let byteRate = 0
  let offset = 12
  for (let chunks = 0; offset + 8 <= sizeBytes; chunks++) {
    if (chunks >= MAX_WAV_CHUNKS) return { byteRate, problem: `The WAV file has more than ${MAX_WAV_CHUNKS} chunks before its audio` }
    const header = await readAt(offset, 8)
    if (header.length < 8) break
    const id = header.toString('latin1', 0, 4)
    const size = header.readUInt32LE(4)
    if (id === 'data') return { byteRate, data: { offset: offset + 8, size } }
    if (id === 'fmt ' && size >= 16) {
      const fmt = await readAt(offset + 8, 16)
      if (fmt.length >= 12) byteRate = fmt.readUInt32LE(8)
    }
    offset += 8 + size + (size % 2)
  }
  return { byteRate }
}

// What writers that cannot seek put in the data size: ffmpeg 0xFFFFFFFF, sox 0x7FFFF000 (its
// "unknown length"), others 0. They all mean "until the end of the file".
const UNTIL_THE_END = new Set([0, 0xffffffff, 0x7ffff000])

/** Pure: does the data chunk run until the end of the file (a WAV written to a pipe)? */
export const wavRunsToEnd = (layout: WavLayout | undefined): boolean =>
  layout?.data !== undefined && UNTIL_THE_END.has(layout.data.size)

/**
 * Pure: does a RIFF/WAVE header promise more audio than the file holds? ffprobe cannot see
 * this lie: when the data chunk runs past the end of the file it estimates the duration from
 * the file size, so "10 hours in 4 KB" probes as 0.05 s of clean audio. Returns the
 * client-facing reason, or undefined (not RIFF/WAVE, no data chunk, streamed, or honest).
 */
export function judgeWavHeader (layout: WavLayout | undefined, sizeBytes: number): string | undefined {
  if (!layout) return undefined
  if (layout.problem) return layout.problem
  if (!layout.data || wavRunsToEnd(layout)) return undefined
  const { offset, size } = layout.data
  const held = Math.max(0, sizeBytes - offset)
  if (held >= size * 0.9) return undefined
  const amount = (bytes: number) => layout.byteRate > 0 ? `${Math.round((bytes / layout.byteRate) * 100) / 100} s` : `${bytes} bytes`
  return `The file is truncated or forged: its WAV header promises ${amount(size)} of audio but it holds ${amount(held)}`
}
