/**
 * Pure: the ffmpeg and ffprobe command lines of the analysis. Inputs are read through the
 * `file:` protocol with only that protocol allowed, so neither a path that looks like a URL
 * nor a playlist inside the file can make ffmpeg open anything else.
 */

export const WAVEFORM_SIZE = { width: 1200, height: 240 } as const
/** The plot area; ffmpeg's legend adds margins around it (see spectrogramPlan). */
export const SPECTROGRAM_PLOT = { width: 1200, height: 512 } as const
// showspectrumpic's window is twice the plot height, in samples.
const SPECTROGRAM_WINDOW = 2 * SPECTROGRAM_PLOT.height
// showwavespic and showspectrumpic hold every sample they draw in memory: past this many, a
// picture is drawn from a resampled signal. 2^25 samples is ~6 min of stereo 44.1 kHz at full
// rate; at the budget, the two pictures together peaked at 320 MB (20 min of stereo 44.1 kHz).
const PICTURE_SAMPLE_BUDGET = 2 ** 25
const MIN_WAVEFORM_RATE = 1000
// Channel colours of the waveform (blue, amber, green, pink, violet, cyan), then repeated.
const CHANNEL_COLOURS = ['0x60a5fa', '0xf59e0b', '0x34d399', '0xf472b6', '0xa78bfa', '0x22d3ee']
const BACKGROUND = '0x111827'
// 90 dB of range: the noise floor of 16-bit audio and dither stay black.
const SPECTROGRAM_STYLE = 'legend=1:color=magma:drange=90'

const input = (path: string) => ['-protocol_whitelist', 'file', '-i', `file:${path}`]
const output = (path: string) => ['-y', `file:${path}`]
const QUIET = ['-nostdin', '-hide_banner', '-nostats']

export function probeArgs (path: string): string[] {
  return ['-v', 'error', '-protocol_whitelist', 'file', '-print_format', 'json', '-show_format', '-show_streams', `file:${path}`]
}

/**
 * EBU R128 over the whole file. Frame logging goes to the verbose level, so stderr holds only
 * the summary; `-progress` lines on stdout report how far the scan is.
 */
export function loudnessArgs (path: string): string[] {
  return [...QUIET, '-v', 'info', ...input(path), '-map', '0:a:0', '-af', 'ebur128=peak=true:framelog=verbose',
    '-progress', 'pipe:1', '-f', 'null', '-']
}

/** Seconds decoded so far, from one line of ffmpeg's `-progress` output. */
export function progressSeconds (line: string): number | undefined {
  const match = /^out_time_us=(\d+)$/.exec(line.trim())
  return match ? Number(match[1]) / 1e6 : undefined
}

export interface SegmentOptions {
  path: string
  startSec: number
  seconds: number
  /** Raw float32 of every channel at the file's own rate. */
  pcm: string
  /** Raw float32 mixed to mono at `rate`, for tempo and key; left out past the tonal window. */
  mono?: { path: string, rate: number }
}

/**
 * One stretch of the file decoded once into two raw outputs. Seeking is on the input side, so
 * ffmpeg decodes from the nearest point before `startSec` and drops the rest: measured on
 * mp3, aac, m4a, ogg, opus, flac, wma and wav, stretches join within 32 samples.
 */
export function segmentArgs (options: SegmentOptions): string[] {
  const args = [...QUIET, '-v', 'error', '-ss', String(options.startSec), '-t', String(options.seconds), ...input(options.path),
    '-map', '0:a:0', '-c:a', 'pcm_f32le', '-f', 'f32le', ...output(options.pcm)]
  if (options.mono) {
    args.push('-map', '0:a:0', '-ac', '1', '-ar', String(options.mono.rate), '-c:a', 'pcm_f32le', '-f', 'f32le', ...output(options.mono.path))
  }
  return args
}

/**
 * Seconds per decoded stretch: about 32 MiB of float32 on disk and in the worker at a time,
 * whatever the rate and channel count, and not so short that ffmpeg starts too often.
 */
export function segmentSeconds (sampleRate: number, channels: number): number {
  const seconds = Math.floor((32 * 2 ** 20) / (sampleRate * channels * 4))
  return Math.max(1, Math.min(300, seconds))
}

export interface SpectrogramPlan {
  filter: string
  width: number
  height: number
}

/**
 * How to draw `frames` samples at `sampleRate` as one spectrogram. ffmpeg 5.1's
 * showspectrumpic smears a bright noise floor over the picture when its windows overlap (a
 * clean sine shows a floor at -40 dB), which they do whenever a column holds less than a
 * window. So a short file goes through showspectrum instead, which overlaps cleanly (its
 * legend then labels only the total time), with the hop rounded down so that the first full
 * frame holds all but the last few ms: a frame it has to flush at the end of the stream loses
 * its colour scale. A longer file is resampled so that each column holds a whole number of
 * just-under-window hops, where showspectrumpic is clean, and to stay within the memory budget.
 */
export function spectrogramPlan (frames: number, sampleRate: number): SpectrogramPlan {
  const { width, height } = SPECTROGRAM_PLOT
  const windowsPerColumn = frames / (SPECTROGRAM_WINDOW * width)
  // The legend's side margins grow with the digits of the rate it prints.
  const size = (rate: number) => ({ width: width + 2 * Math.floor((Math.log10(rate) + 1) * 25), height: height + 128 })
  if (frames >= width && windowsPerColumn <= 1) {
    const hop = Math.floor(frames / width)
    // ffmpeg truncates (1 - overlap) · window to whole samples: aim at the middle of the sample.
    const overlap = 1 - (hop + 0.5) / SPECTROGRAM_WINDOW
    return {
      filter: `aformat=channel_layouts=mono,showspectrum=s=${width}x${height}:slide=fullframe:overlap=${overlap.toFixed(7)}:scale=log:${SPECTROGRAM_STYLE}`,
      ...size(sampleRate)
    }
  }
  const perColumn = Math.max(1, Math.min(Math.floor(windowsPerColumn), Math.floor(PICTURE_SAMPLE_BUDGET / (SPECTROGRAM_WINDOW * width))))
  const durationSec = frames / sampleRate
  const rate = Math.min(sampleRate, Math.floor((0.99 * perColumn * SPECTROGRAM_WINDOW * width) / durationSec))
  return {
    filter: `${rate === sampleRate ? '' : `aresample=${rate},`}aformat=channel_layouts=mono,showspectrumpic=s=${width}x${height}:${SPECTROGRAM_STYLE}`,
    ...size(rate)
  }
}

/** The rate the waveform is drawn from: the file's own, unless that is over the memory budget. */
export function waveformRate (frames: number, sampleRate: number, channels: number): number {
  if (frames * channels <= PICTURE_SAMPLE_BUDGET) return sampleRate
  return Math.max(MIN_WAVEFORM_RATE, Math.floor((PICTURE_SAMPLE_BUDGET / (frames * channels)) * sampleRate))
}

export interface PicturesOptions {
  path: string
  frames: number
  sampleRate: number
  channels: number
  waveform: string
  spectrogram: string
}

/**
 * Both pictures from one decode: the waveform (a row per channel, peaks on a square-root
 * scale so that quiet passages stay visible; waveform.json has the linear values) and the
 * spectrogram.
 */
export function picturesArgs (options: PicturesOptions): string[] {
  const { width, height } = WAVEFORM_SIZE
  const rate = waveformRate(options.frames, options.sampleRate, options.channels)
  const colours = Array.from({ length: options.channels }, (_, c) => CHANNEL_COLOURS[c % CHANNEL_COLOURS.length]).join('|')
  const graph = [
    '[0:a:0]asplit=2[w][s]',
    `[w]${rate === options.sampleRate ? '' : `aresample=${rate},`}showwavespic=s=${width}x${height}:split_channels=1:filter=peak:scale=sqrt:colors=${colours}[wave]`,
    `color=c=${BACKGROUND}:s=${width}x${height}[bg]`,
    '[bg][wave]overlay=shortest=1:format=auto[waveform]',
    `[s]${spectrogramPlan(options.frames, options.sampleRate).filter}[spectrogram]`
  ].join(';')
  return [...QUIET, '-v', 'error', ...input(options.path), '-filter_complex', graph,
    '-map', '[waveform]', '-frames:v', '1', '-update', '1', '-c:v', 'png', ...output(options.waveform),
    '-map', '[spectrogram]', '-frames:v', '1', '-update', '1', '-c:v', 'png', ...output(options.spectrogram)]
}
