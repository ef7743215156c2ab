import type { Loudness } from '../analyze/ebur128.ts'

/**
 * Pure: the command lines that turn the MIDI file into audio, and the level decision between
 * them. FluidSynth renders 32-bit float (nothing clips however loud the mix), ffmpeg measures
 * it, then one more ffmpeg pass sets the level, limits peaks, cuts or pads to the exact
 * duration, fades the end and encodes.
 */

export const SAMPLE_RATE = 44_100
// Streaming services' loudness, and ffmpeg's default for loudnorm.
export const TARGET_LUFS = -16
const PEAK_CEILING_DB = -1
// The limiter may take at most this much off the loudest peaks to reach the target; beyond
// it the piece stays quieter than the target (a sparse piano piece with a loud attack).
const MAX_LIMITING_DB = 6
const MAX_GAIN_DB = 40
// The last stretch fades out: FluidSynth's release and reverb tails run on past the end.
const FADE_MAX_SEC = 2
const FADE_SHARE = 0.1

export type AudioFormat = 'wav' | 'mp3'

const input = (path: string) => ['-protocol_whitelist', 'file', '-i', `file:${path}`]
const QUIET = ['-nostdin', '-hide_banner', '-nostats']

/** FluidSynth without MIDI input or shell, rendering as fast as it can into a float WAV. */
export function fluidsynthArgs (options: { soundfont: string, midi: string, wav: string }): string[] {
  return ['-n', '-i', '-q', '-R', '1', '-C', '1', '-r', String(SAMPLE_RATE), '-T', 'wav', '-O', 'float',
    '-F', options.wav, options.soundfont, options.midi]
}

export const samplesOf = (durationSec: number) => Math.round(durationSec * SAMPLE_RATE)

/** Loudness (EBU R128) and sample peak of the first `samples` samples; the summary goes to stderr. */
export function measureArgs (wav: string, samples: number): string[] {
  return [...QUIET, '-v', 'info', ...input(wav), '-af', `atrim=end_sample=${samples},ebur128=peak=sample:framelog=verbose`, '-f', 'null', '-']
}

/** dB to add: to the target loudness, unless that would ask the limiter for more than it may give. */
export function gainFor (loudness: Loudness | undefined): number {
  if (!loudness || loudness.integratedLufs === null) return 0
  const toTarget = TARGET_LUFS - loudness.integratedLufs
  const headroom = loudness.truePeakDbtp === null ? MAX_GAIN_DB : PEAK_CEILING_DB - loudness.truePeakDbtp + MAX_LIMITING_DB
  return Math.round(Math.min(toTarget, headroom, MAX_GAIN_DB) * 100) / 100
}

export function fadeSamples (durationSec: number): number {
  return samplesOf(Math.min(FADE_MAX_SEC, durationSec * FADE_SHARE))
}

/**
 * Level, limiter, exact length (cut, or padded with silence when the render came out short),
 * the fade, and the encoding. `-bitexact` keeps ffmpeg's version out of the file.
 */
export function encodeArgs (options: { wav: string, output: string, durationSec: number, gainDb: number, format: AudioFormat }): string[] {
  const samples = samplesOf(options.durationSec)
  const fade = fadeSamples(options.durationSec)
  const limit = (10 ** (PEAK_CEILING_DB / 20)).toFixed(4)
  const filters = [
    `volume=${options.gainDb.toFixed(2)}dB`,
    `alimiter=limit=${limit}:level=0:latency=1`,
    `atrim=end_sample=${samples}`,
    `apad=whole_len=${samples}`,
    `afade=t=out:start_sample=${samples - fade}:nb_samples=${fade}`
  ].join(',')
  const codec = options.format === 'mp3' ? ['-c:a', 'libmp3lame', '-q:a', '2', '-f', 'mp3'] : ['-c:a', 'pcm_s16le', '-f', 'wav']
  return [...QUIET, '-v', 'error', ...input(options.wav), '-af', filters, '-ar', String(SAMPLE_RATE), '-ac', '2', ...codec,
    '-bitexact', '-progress', 'pipe:1', '-y', `file:${options.output}`]
}
