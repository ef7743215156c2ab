import type { StemFormat } from './separate.types.ts'

/**
 * Pure: the ffmpeg command lines of the separation. Inputs are read through the `file:`
 * protocol with only that protocol allowed, as in the analysis, so no path can make ffmpeg
 * open a URL or a playlist.
 */

const QUIET = ['-nostdin', '-hide_banner', '-nostats', '-v', 'error']

/** Above this the file is resampled: more rate holds no voice or drum, only cost. */
export const MAX_SAMPLE_RATE = 48_000

export const STEM_CONTENT_TYPES: Record<StemFormat, string> = { wav: 'audio/wav', flac: 'audio/flac', mp3: 'audio/mpeg' }

/** The first audio stream as interleaved float32 on stdout, at `sampleRate`. */
export function decodeArgs (path: string, sampleRate: number): string[] {
  return [...QUIET, '-protocol_whitelist', 'file', '-i', `file:${path}`, '-map', '0:a:0',
    '-ar', String(sampleRate), '-c:a', 'pcm_f32le', '-f', 'f32le', 'pipe:1']
}

/**
 * One stem's raw interleaved float32 scratch file to its artifact: 16-bit WAV or FLAC, or MP3
 * at 192 kb/s. MP3 holds at most two channels, so a surround stem is mixed down for it.
 */
export function encodeArgs (options: { raw: string, sampleRate: number, channels: number, format: StemFormat, output: string }): string[] {
  const codec = {
    wav: ['-c:a', 'pcm_s16le', '-f', 'wav'],
    flac: ['-c:a', 'flac', '-sample_fmt', 's16', '-f', 'flac'],
    mp3: [...(options.channels > 2 ? ['-ac', '2'] : []), '-c:a', 'libmp3lame', '-b:a', '192k', '-f', 'mp3']
  }[options.format]
  return [...QUIET, '-f', 'f32le', '-ar', String(options.sampleRate), '-ac', String(options.channels),
    '-protocol_whitelist', 'file', '-i', `file:${options.raw}`, ...codec, '-y', `file:${options.output}`]
}
