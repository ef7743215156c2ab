import { mkdir, open, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { StringDecoder } from 'node:string_decoder'
import { splitLevels } from '../../dsp/silence-split.ts'
import { EngineError } from '../engine.ts'
import type { Engine, EngineStatus } from '../engine.ts'
import { runProcess } from '../process.ts'
import { SAMPLE_RATE, copyPcmRange, decodeAudio, measurePcm } from './decode.ts'
import { binaryInstalled, debianVersion } from './installed.ts'
import { pickLanguage } from './languages.ts'
import { batchArgs, finishedUtterance, parseCtm, planBatches } from './pocketsphinx.batch.ts'
import type { CtmWord } from './pocketsphinx.batch.ts'
import { POCKETSPHINX_MODEL_ROOT, findModels } from './pocketsphinx.models.ts'
import { segmentReporter, type Unnumbered } from './partial-segments.ts'
import { runAll } from './run-all.ts'
import { writeTranscriptArtifacts } from './transcript-artifacts.ts'
import { DEFAULT_QUALITY, roundMs } from './transcript.ts'
import type { TranscribeParams, Transcript, TranscriptSegment } from './transcript.ts'

export interface PocketsphinxOptions {
  binary?: string
  modelRoot?: string
}

const PACKAGE = 'pocketsphinx'
const MODEL_PACKAGE = 'pocketsphinx-en-us'
const MAX_SEGMENT_SEC = 30
// Measured real-time factor is 0.2–0.4 on one core; five times that plus a minute absorbs a
// loaded machine without letting a stuck decoder hold a worker for long.
const recogniseTimeoutMs = (audioSec: number) => 60_000 + audioSec * 5000

const uttId = (i: number) => `s${String(i).padStart(5, '0')}`

/** One segment with global times, or undefined when nothing was recognised in it. */
function placeSegment (range: { start: number, end: number }, found: CtmWord[]): Unnumbered | undefined {
  if (found.length === 0) return undefined
  const start = range.start / SAMPLE_RATE
  const end = range.end / SAMPLE_RATE
  const placed = found.map((w) => ({
    word: w.word,
    start: roundMs(Math.min(end, start + w.start)),
    end: roundMs(Math.min(end, start + w.end)),
    confidence: Math.round(w.confidence * 1000) / 1000
  }))
  return { start: roundMs(start), end: roundMs(end), text: placed.map((w) => w.word).join(' '), words: placed }
}

/** Segments with global times; those where nothing was recognised are left out. */
function mergeSegments (ranges: Array<{ start: number, end: number }>, words: Map<string, CtmWord[]>): TranscriptSegment[] {
  return ranges.flatMap((range, i) => {
    const segment = placeSegment(range, words.get(uttId(i)) ?? [])
    return segment ? [segment] : []
  }).map((segment, id) => ({ id, ...segment }))
}

/**
 * The CTM a running pocketsphinx_batch appends to: it writes it unbuffered, each utterance's
 * words before the log line that says the utterance is done, so at that line they are all on
 * disk. Reads only what is new, in complete lines.
 */
function ctmFollower (path: string) {
  let offset = 0
  let rest = ''
  // A character of a dictionary in UTF-8 may straddle two reads.
  const decoder = new StringDecoder('utf8')
  const buffer = Buffer.alloc(1 << 16)
  const words = new Map<string, CtmWord[]>()
  return {
    async read (): Promise<Map<string, CtmWord[]>> {
      const file = await open(path, 'r')
      try {
        for (;;) {
          const { bytesRead } = await file.read(buffer, 0, buffer.length, offset)
          if (bytesRead === 0) break
          offset += bytesRead
          rest += decoder.write(buffer.subarray(0, bytesRead))
        }
      } finally {
        await file.close()
      }
      const end = rest.lastIndexOf('\n') + 1
      for (const [utterance, found] of parseCtm(rest.slice(0, end))) words.set(utterance, [...(words.get(utterance) ?? []), ...found])
      rest = rest.slice(end)
      return words
    }
  }
}

/**
 * CMU pocketsphinx (Debian's 0.8+5prealpha), English only as packaged. The audio is cut at
 * silences into segments of at most 30 s, and `parallelism` pocketsphinx_batch processes each
 * decode a contiguous share: loading the model costs ~0.8 s, so one process per segment would
 * spend most of its time loading. Word confidence is the lattice posterior (see batchArgs);
 * `quality` picks the search settings.
 * `prompt` and `temperature` do not apply to this recogniser and are ignored.
 */
export function createPocketsphinxEngine (options: PocketsphinxOptions = {}): Engine<TranscribeParams, Transcript> {
  const binary = options.binary ?? 'pocketsphinx_batch'
  const modelRoot = options.modelRoot ?? POCKETSPHINX_MODEL_ROOT

  return {
    name: 'pocketsphinx',

    async status (): Promise<EngineStatus> {
      const [installed, models, version] = await Promise.all([binaryInstalled(binary, PACKAGE), findModels(modelRoot), debianVersion(PACKAGE)])
      const languages = [...new Set(models.map((m) => m.language))]
      const detail = !installed
        ? `${binary} is not installed: install the Debian package ${PACKAGE}.`
        : languages.length === 0 ? `No pocketsphinx model is installed: install the Debian package ${MODEL_PACKAGE}.` : undefined
      return {
        name: 'pocketsphinx',
        available: installed && languages.length > 0,
        package: PACKAGE,
        languages,
        ...(version ? { version } : {}),
        ...(detail ? { detail } : {})
      }
    },

    async run (input, params, context) {
      const models = await findModels(modelRoot)
      if (models.length === 0) throw new EngineError('missing-engine', `No pocketsphinx model is installed: install the Debian package ${MODEL_PACKAGE}.`)
      const language = pickLanguage(params.language, [...new Set(models.map((m) => m.language))]) ?? models[0]?.language
      const model = models.find((m) => m.language === language)
      if (!model) throw new EngineError('missing-engine', `No pocketsphinx model is installed: install the Debian package ${MODEL_PACKAGE}.`)

      context.progress(0, 'decoding')
      const pcmPath = join(context.workDir, 'audio.raw')
      await decodeAudio(input.path, pcmPath, 's16le', { signal: context.signal, durationSec: input.durationSec })
      const measured = await measurePcm(pcmPath)
      if (measured.samples === 0) throw new EngineError('invalid-input', 'The file contains no audio.')

      context.progress(0.05, 'finding speech')
      const ranges = splitLevels(measured.levels, measured.samples, { sampleRate: SAMPLE_RATE, maxSec: MAX_SEGMENT_SEC })
      const segmentDir = join(context.workDir, 'segments')
      await mkdir(segmentDir, { recursive: true })
      for (const [i, range] of ranges.entries()) await copyPcmRange(pcmPath, range, join(segmentDir, `${uttId(i)}.raw`))

      const lengths = ranges.map((r) => r.end - r.start)
      const total = lengths.reduce((a, b) => a + b, 0)
      let done = 0
      let doneSamples = 0
      const indexOf = (id: string | undefined) => {
        const index = id ? Number(id.slice(1)) : NaN
        return Number.isInteger(index) && index < lengths.length ? index : undefined
      }
      const finished = (index: number) => {
        done += 1
        doneSamples += lengths[index] ?? 0
        context.progress(0.1 + (0.85 * doneSamples) / total, `recognising ${done}/${ranges.length}`)
      }
      const report = segmentReporter(context.partial)
      context.progress(0.1, `recognising 0/${ranges.length}`)

      const batches = planBatches(lengths, context.parallelism)
      const results = await runAll(batches.map((batch, b) => async (signal: AbortSignal) => {
        const ctl = join(context.workDir, `batch-${b}.ctl`)
        const ctm = join(context.workDir, `batch-${b}.ctm`)
        await writeFile(ctl, batch.map((i) => `${uttId(i)}\n`).join(''))
        const audioSec = batch.reduce((sum, i) => sum + (lengths[i] ?? 0), 0) / SAMPLE_RATE
        const follower = ctmFollower(ctm)
        // Segments are read back one by one, in the order the process finished them.
        let reading = Promise.resolve()
        const recognising = runProcess(binary, batchArgs({ model, cepdir: segmentDir, ctl, ctm, quality: params.quality ?? DEFAULT_QUALITY }), {
          signal,
          timeoutMs: recogniseTimeoutMs(audioSec),
          pkg: PACKAGE,
          maxOutput: 1 << 16,
          onStderrLine: (line) => {
            const index = indexOf(finishedUtterance(line))
            if (index === undefined) return
            finished(index)
            if (report) reading = reading.then(async () => { report.put(index, placeSegment(ranges[index]!, (await follower.read()).get(uttId(index)) ?? [])) })
          }
        })
        await recognising.catch(async (error: unknown) => {
          await reading.catch(() => {})
          throw error
        })
        await reading
        return parseCtm(await readFile(ctm, 'utf8'))
      }), context.signal)

      const words = new Map(results.flatMap((r) => [...r]))
      // A segment whose log line was missed still reaches the stream, before the job ends.
      for (const [i, range] of ranges.entries()) report?.put(i, placeSegment(range, words.get(uttId(i)) ?? []))
      const segments = mergeSegments(ranges, words)
      const transcript: Transcript = {
        text: segments.map((s) => s.text).join(' '),
        segments,
        language: model.language,
        duration: roundMs(measured.samples / SAMPLE_RATE),
        engine: 'pocketsphinx'
      }
      context.progress(0.97, 'writing transcripts')
      const artifacts = await writeTranscriptArtifacts(context.workDir, transcript, { words: params.wordTimestamps === true })
      return { result: transcript, artifacts }
    }
  }
}
