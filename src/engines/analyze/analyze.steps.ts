import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { TONAL_WINDOW_SECONDS, type AnalysisResult } from '../../dsp/analysis.ts'
import { EngineError, type EngineContext } from '../engine.ts'
import { runProcess } from '../process.ts'
import { startDspWorker } from './dsp-worker.client.ts'
import { parseEbur128Summary, type Loudness } from './ebur128.ts'
import { parseFacts, type AudioFacts } from './facts.ts'
import { loudnessArgs, picturesArgs, probeArgs, progressSeconds, segmentArgs, segmentSeconds } from './ffmpeg-args.ts'

export interface Tools {
  ffmpeg: string
  ffprobe: string
}

const PACKAGE = 'ffmpeg'
const PROBE_TIMEOUT_MS = 30_000
// ffmpeg decodes at 50–500× real time here: a pass slower than 2× real time is stuck.
const passTimeoutMs = (audioSec: number) => 60_000 + audioSec * 500
// Tempo and key are read at this rate: enough for pitches up to C8 and for onsets.
const MONO_RATE = 22_050
const WAVEFORM_BUCKETS = 1000

/** The stretch of the progress bar, 0–1, that a step fills. */
export interface Span {
  from: number
  to: number
}
const at = (span: Span, fraction: number) => span.from + (span.to - span.from) * Math.min(1, fraction)

/**
 * ffmpeg failing on a file it could open means the audio is broken, which no retry mends:
 * `invalid-input`. Only a full disk (the decode writes scratch files) is worth another try.
 */
function unreadable (error: unknown, message: string): unknown {
  if (!(error instanceof EngineError) || error.kind !== 'transient') return error
  const cause = error.cause instanceof Error ? error.cause.message : ''
  return /No space left/i.test(cause) ? error : new EngineError('invalid-input', message, { cause: error })
}

export async function probe (tools: Tools, path: string, signal: AbortSignal): Promise<AudioFacts> {
  let stdout: string
  try {
    ({ stdout } = await runProcess(tools.ffprobe, probeArgs(path), { signal, timeoutMs: PROBE_TIMEOUT_MS, pkg: PACKAGE }))
  } catch (error) {
    throw unreadable(error, 'ffmpeg cannot read this file as audio.')
  }
  const facts = parseFacts(stdout)
  if (!facts) throw new EngineError('invalid-input', 'The file contains no audio stream.')
  if (!(facts.sampleRate > 0 && facts.channels > 0)) throw new EngineError('invalid-input', 'The audio stream has no sample rate or channels.')
  return facts
}

/** EBU R128 over the whole file. */
export async function measureLoudness (tools: Tools, path: string, durationSec: number, context: EngineContext, span: Span): Promise<Loudness> {
  let stderr: string
  try {
    ({ stderr } = await runProcess(tools.ffmpeg, loudnessArgs(path), {
      signal: context.signal,
      timeoutMs: passTimeoutMs(durationSec),
      pkg: PACKAGE,
      onStdoutLine (line) {
        const seconds = progressSeconds(line)
        if (seconds !== undefined && durationSec > 0) context.progress(at(span, seconds / durationSec), 'measuring loudness')
      }
    }))
  } catch (error) {
    throw unreadable(error, 'The audio could not be decoded.')
  }
  const loudness = parseEbur128Summary(stderr)
  if (!loudness) throw new EngineError('invalid-input', 'The audio could not be decoded.')
  return loudness
}

/**
 * Decodes the file a stretch at a time into scratch files in the work directory and feeds each
 * to the DSP thread: memory and disk hold one stretch (~32 MiB), however long the file. The
 * stream ends with an empty stretch, or a short one at or past the probed duration (which
 * can be off either way).
 */
export async function analyseSamples (tools: Tools, path: string, facts: AudioFacts, silenceThresholdDb: number | undefined, context: EngineContext, span: Span): Promise<AnalysisResult> {
  const { sampleRate, channels, durationSec } = facts
  const seconds = segmentSeconds(sampleRate, channels)
  const pcm = join(context.workDir, 'segment.f32')
  const mono = join(context.workDir, 'segment-mono.f32')
  const dsp = startDspWorker({
    channels,
    sampleRate,
    monoSampleRate: MONO_RATE,
    buckets: WAVEFORM_BUCKETS,
    silenceThresholdDb
  }, context.signal)
  try {
    let frames = 0
    for (let start = 0; ; start += seconds) {
      const tonal = start < TONAL_WINDOW_SECONDS
      try {
        await runProcess(tools.ffmpeg, segmentArgs({ path, startSec: start, seconds, pcm, ...(tonal ? { mono: { path: mono, rate: MONO_RATE } } : {}) }), {
          signal: context.signal,
          timeoutMs: passTimeoutMs(seconds),
          pkg: PACKAGE
        })
      } catch (error) {
        throw unreadable(error, 'The audio could not be decoded.')
      }
      const got = await dsp.segment(pcm, tonal ? mono : undefined)
      frames += got
      if (durationSec > 0) context.progress(at(span, (start + seconds) / durationSec), 'decoding')
      // Seeking lands within a few samples, so a full stretch is at least 99% of its length.
      // A short one before the probed end is a damaged stretch: go on past it.
      if (got === 0 || (got < 0.99 * seconds * sampleRate && start + seconds >= durationSec)) break
    }
    if (frames === 0) throw new EngineError('invalid-input', 'The file contains no decodable audio.')
    context.progress(span.to, 'analysing')
    return await dsp.finish()
  } finally {
    await dsp.close()
    await Promise.all([rm(pcm, { force: true }), rm(mono, { force: true })])
  }
}

export interface Pictures {
  waveform: string
  spectrogram: string
}

export async function renderPictures (tools: Tools, path: string, facts: AudioFacts, frames: number, context: EngineContext): Promise<Pictures> {
  const pictures = { waveform: join(context.workDir, 'waveform.png'), spectrogram: join(context.workDir, 'spectrogram.png') }
  await runProcess(tools.ffmpeg, picturesArgs({ path, frames, sampleRate: facts.sampleRate, channels: facts.channels, ...pictures }), {
    signal: context.signal,
    timeoutMs: passTimeoutMs(frames / facts.sampleRate),
    pkg: PACKAGE
  })
  return pictures
}

export async function ffmpegVersion (tools: Tools): Promise<{ available: boolean, version?: string }> {
  // Status checks are not part of a job: nothing cancels them, a short timeout bounds them.
  const options = { signal: new AbortController().signal, timeoutMs: 5000, pkg: PACKAGE }
  try {
    const [{ stdout }] = await Promise.all([runProcess(tools.ffmpeg, ['-version'], options), runProcess(tools.ffprobe, ['-version'], options)])
    const first = stdout.split('\n')[0] ?? ''
    return { available: true, version: /^ffmpeg version (\S+)/.exec(first)?.[1] ?? first }
  } catch {
    return { available: false }
  }
}
