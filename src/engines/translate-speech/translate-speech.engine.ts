import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ArtifactFile, Engine, EngineContext, EngineInput, EngineStatus } from '../engine.ts'
import { EngineError } from '../engine.ts'
import { runProcess } from '../process.ts'
import type { TranscribeParams, TranscribeQuality, Transcript } from '../transcribe/transcript.ts'
import { translatedSegments, translatedTranscript, translationFiles, type TranslatedSegment } from './segments.ts'
import { planTimeline, timelineSteps } from './timeline.ts'

export interface TranslateSpeechParams {
  /** Canonical codes (the job's create-time check normalised them). */
  target_lang: string
  source_lang: string
  speak?: boolean
  voice?: string
  /** The fastest a clip may be played to fit before the next segment (timeline.ts MAX_SPEED). */
  max_speed?: number
  /** The recogniser; the handler has resolved the default. */
  engine: string
  /** The recogniser's search (pocketsphinx); absent, its default. */
  quality?: TranscribeQuality
}

export interface TranslateSpeechResult {
  source_lang: string
  target_lang: string
  /** Every language the text passed through, both ends included. */
  route: string[]
  engine: string
  segments: number
  /** Seconds of the source audio. */
  duration: number
  text: string
  speech?: {
    voice: string
    duration: number
    sampleRate: number
    /** The fastest a clip had to be played to fit before the next segment. */
    maxSpeed: number
    /** Clips that started after their segment's start: one before them ran past it even at the speed cap. */
    delayedClips: number
  }
}

/** What the speech translation needs of text translation (the Apertium translator keeps it). */
export interface SegmentTranslator {
  translateMany: (texts: string[], from: string, to: string, opts: { signal: AbortSignal }) => Promise<{ translations: string[], route: string[] }>
}

/** What it needs of speech synthesis: one mono WAV per text. */
export interface ClipSynthesiser {
  synthesise: (request: { text: string, voice?: string, language?: string }, outPath: string, opts: { signal: AbortSignal, workDir: string }) => Promise<{ durationSec: number, voice: string, sampleRate: number }>
}

export interface SpeechTranslatorDeps {
  transcribe: Record<string, Engine<TranscribeParams, Transcript>>
  translator: SegmentTranslator
  synthesiser: ClipSynthesiser
}

// The stages' shares of the progress bar, measured on the LibriVox utterances: recognition is
// most of a text-only run, synthesis about as long as recognition when the job speaks.
const SHARES = { text: { transcribe: 0.9, translate: 0.08 }, speech: { transcribe: 0.45, translate: 0.05, synthesise: 0.4 } }
const SOURCE_ARTIFACTS: Record<string, string> = {
  'transcript.txt': 'source.txt',
  'transcript.srt': 'source.srt',
  'transcript.vtt': 'source.vtt',
  'transcript.verbose.json': 'source.json'
}
// A mixed-down clip per segment, each its own ffmpeg input; minutes of speech per second of mixing.
const mixTimeoutMs = (durationSec: number, clips: number) => 60_000 + durationSec * 1000 + clips * 200

/** A stage's own progress 0–1 as a share of the whole run. */
const stage = (context: EngineContext, from: number, share: number) => (fraction: number, label: string) => {
  context.progress(from + share * Math.min(1, Math.max(0, fraction)), label)
}

/**
 * Runs `task` over `items`, at most `limit` at once. The first failure stops the rest (their
 * signal aborts, no new item starts) and is thrown once every running task has settled, so no
 * child process outlives the call.
 */
async function mapLimit<T, R> (items: T[], limit: number, signal: AbortSignal, task: (item: T, index: number, signal: AbortSignal) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length)
  const local = new AbortController()
  const both = AbortSignal.any([signal, local.signal])
  let failure: { error: unknown } | undefined
  let next = 0
  const worker = async () => {
    while (next < items.length && !failure && !both.aborted) {
      const index = next++
      try {
        results[index] = await task(items[index]!, index, both)
      } catch (error) {
        failure ??= { error }
        local.abort()
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker))
  if (signal.aborted) throw new EngineError('canceled', 'The job was canceled.')
  if (failure) throw failure.error
  return results
}

/**
 * Speech to translated text, subtitles and (with `speak`) translated speech: the recogniser
 * transcribes, the translator translates every segment in one batch, the subtitles keep each
 * segment's source timing, and each translated segment is synthesised and placed where its
 * source speech starts (see timeline.ts for what happens when it does not fit).
 */
export function createSpeechTranslator (deps: SpeechTranslatorDeps): Engine<TranslateSpeechParams, TranslateSpeechResult> {
  async function transcribe (input: EngineInput, params: TranslateSpeechParams, context: EngineContext, share: number) {
    const engine = deps.transcribe[params.engine]
    if (!engine) throw new EngineError('invalid-input', `Unknown transcription engine ${params.engine}.`)
    const workDir = join(context.workDir, 'transcribe')
    await mkdir(workDir)
    const progress = stage(context, 0, share)
    const { result, artifacts } = await engine.run(input, { language: params.source_lang, wordTimestamps: true, ...(params.quality ? { quality: params.quality } : {}) }, {
      progress: (fraction, label) => { progress(fraction, `transcribing: ${label}`) },
      signal: context.signal,
      workDir,
      parallelism: context.parallelism
    })
    const renamed = artifacts.flatMap((a) => (SOURCE_ARTIFACTS[a.name] ? [{ ...a, name: SOURCE_ARTIFACTS[a.name]! }] : []))
    return { transcript: result, artifacts: renamed }
  }

  async function speak (segments: TranslatedSegment[], transcript: Transcript, params: TranslateSpeechParams, context: EngineContext, from: number, share: number) {
    const spoken = segments.filter((s) => s.text !== '')
    const dir = join(context.workDir, 'clips')
    await mkdir(dir)
    const progress = stage(context, from, share)
    let done = 0
    progress(0, `speaking 0/${spoken.length}`)
    const clips = await mapLimit(spoken, context.parallelism, context.signal, async (segment, i, signal) => {
      const path = join(dir, `clip-${String(i).padStart(5, '0')}.wav`)
      const made = await deps.synthesiser.synthesise({ text: segment.text, language: params.target_lang, ...(params.voice ? { voice: params.voice } : {}) }, path, { signal, workDir: dir })
      done += 1
      progress(done / spoken.length, `speaking ${done}/${spoken.length}`)
      return { path, ...made }
    })
    context.progress(from + share, 'mixing the speech')
    const timeline = planTimeline(spoken.map((s) => s.start), clips.map((c) => c.durationSec), transcript.duration, params.max_speed ? { maxSpeed: params.max_speed } : {})
    const sampleRate = clips[0]?.sampleRate ?? 22_050
    const output = join(context.workDir, 'speech.wav')
    for (const step of timelineSteps(timeline, clips.map((c) => c.path), output, { dir, sampleRate })) {
      for (const file of [step.script, step.list]) if (file) await writeFile(file.path, file.text)
      await runProcess('ffmpeg', step.args, { signal: context.signal, timeoutMs: mixTimeoutMs(timeline.durationSec, clips.length), pkg: 'ffmpeg', maxOutput: 1 << 14 })
    }
    return {
      artifact: { name: 'speech.wav', path: output, contentType: 'audio/wav' },
      speech: {
        voice: clips[0]?.voice ?? params.voice ?? '',
        duration: timeline.durationSec,
        sampleRate,
        maxSpeed: Math.max(1, ...timeline.placements.map((p) => p.speed)),
        delayedClips: timeline.placements.filter((p) => p.delaySec > 0).length
      }
    }
  }

  return {
    name: 'translate-speech',

    /** Available when its recognisers, translator and synthesiser are: each reports itself. */
    async status (): Promise<EngineStatus> {
      return { name: 'translate-speech', available: true, package: '', detail: 'pipeline of the transcription, translation and speech engines' }
    },

    async run (input, params, context) {
      const shares = params.speak ? SHARES.speech : SHARES.text
      const { transcript, artifacts } = await transcribe(input, params, context, shares.transcribe)

      context.progress(shares.transcribe, 'translating')
      const texts = transcript.segments.map((s) => s.text)
      const { translations, route } = texts.length > 0
        ? await deps.translator.translateMany(texts, params.source_lang, params.target_lang, { signal: context.signal })
        : { translations: [], route: [params.source_lang, params.target_lang] }
      const segments = translatedSegments(transcript, translations)
      const translation = translatedTranscript(transcript, segments, params.target_lang)
      const files: ArtifactFile[] = [...artifacts]
      for (const file of translationFiles(translation)) {
        const path = join(context.workDir, file.name)
        await writeFile(path, file.body)
        files.push({ name: file.name, path, contentType: file.contentType })
      }
      const json = join(context.workDir, 'translation.json')
      await writeFile(json, `${JSON.stringify({ source_lang: params.source_lang, target_lang: params.target_lang, route, duration: transcript.duration, text: translation.text, segments })}\n`)
      files.push({ name: 'translation.json', path: json, contentType: 'application/json' })

      const result: TranslateSpeechResult = {
        source_lang: params.source_lang,
        target_lang: params.target_lang,
        route,
        engine: transcript.engine,
        segments: segments.length,
        duration: transcript.duration,
        text: translation.text
      }
      if (!params.speak) return { result, artifacts: files }
      const spoken = await speak(segments, transcript, params, context, shares.transcribe + shares.translate, SHARES.speech.synthesise)
      context.progress(0.99, 'writing')
      return { result: { ...result, speech: spoken.speech }, artifacts: [...files, spoken.artifact] }
    }
  }
}
