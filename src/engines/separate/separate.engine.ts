import { rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { CHUNK_SECONDS, OVERLAP_SECONDS } from '../../dsp/separation/chunks.ts'
import { chunkGeometry, MAX_CHANNELS, STEM_NAMES } from '../../dsp/separation/index.ts'
import { frameSize, HOPS_PER_FRAME } from '../../dsp/separation/separate.ts'
import { ffmpegVersion, probe, type Tools } from '../analyze/analyze.steps.ts'
import { EngineError, type ArtifactFile, type Engine, type EngineStatus } from '../engine.ts'
import { runProcess } from '../process.ts'
import { chunkReader } from './chunk-reader.ts'
import { decodeArgs, encodeArgs, MAX_SAMPLE_RATE, STEM_CONTENT_TYPES } from './ffmpeg-args.ts'
import { bufferPool } from './buffer-pool.ts'
import { startSeparationPool } from './separation-worker.client.ts'
import type { SeparateParams, SeparateResult } from './separate.types.ts'
import { stemAssembler } from './stem-assembler.ts'

export type { SeparateParams, SeparateResult, StemFormat } from './separate.types.ts'

const PACKAGE = 'ffmpeg'
export const METHOD = 'tympan-dsp'
/**
 * Threads at most, whatever the cores: memory, not CPU, bounds them. Each adds ~32 MiB of
 * runtime, a ~25 MiB workspace and about two chunks' samples and stems in circulation; on a
 * 10-minute track 2 threads peak at 280 MiB, and on 90 s 3 threads already at 368 MiB, 4
 * at 443 MiB, over the 300 MiB budget. Two threads run at an RTF of ≈ 0.07 (docs/separation.md).
 */
export const MAX_WORKERS = 2
// The decode is held back by the separation (backpressure), so it lasts as long as the run.
const decodeTimeoutMs = (durationSec: number) => 120_000 + durationSec * 4000
const encodeTimeoutMs = (durationSec: number) => 60_000 + durationSec * 500

function undecodable (error: unknown): unknown {
  if (!(error instanceof EngineError) || error.kind !== 'transient') return error
  const cause = error.cause instanceof Error ? error.cause.message : ''
  return /No space left/i.test(cause) ? error : new EngineError('invalid-input', 'The audio could not be decoded.', { cause: error })
}

/**
 * Stem separation by signal processing (docs/separation.md): ffmpeg decodes the file into a
 * stream that is cut into overlapping chunks, worker threads separate the chunks (src/dsp/
 * separation), the chunks are cross-faded into one raw file per stem, and ffmpeg encodes each.
 * A neural separator would implement the same `Engine<SeparateParams, SeparateResult>`.
 */
export function separateEngine (options: { ffmpeg?: string, ffprobe?: string } = {}): Engine<SeparateParams, SeparateResult> {
  const tools: Tools = { ffmpeg: options.ffmpeg ?? 'ffmpeg', ffprobe: options.ffprobe ?? 'ffprobe' }

  return {
    name: 'separate',

    async status (): Promise<EngineStatus> {
      const { available, version } = await ffmpegVersion(tools)
      return {
        name: 'separate',
        available,
        package: PACKAGE,
        ...(version ? { version } : {}),
        ...(available ? {} : { detail: `${tools.ffmpeg} or ${tools.ffprobe} does not run: install the Debian package ${PACKAGE}.` })
      }
    },

    async run (input, params, context) {
      const stems = params.stems ?? 4
      const format = params.format ?? 'wav'
      if (stems !== 2 && stems !== 4) throw new EngineError('invalid-input', 'stems must be 2 or 4.')
      if (!(format in STEM_CONTENT_TYPES)) throw new EngineError('invalid-input', 'format must be wav, flac or mp3.')
      const path = resolve(input.path)
      context.progress(0, 'probing')
      const facts = await probe(tools, path, context.signal)
      if (facts.channels > MAX_CHANNELS) throw new EngineError('invalid-input', `The audio has ${facts.channels} channels; separation takes at most ${MAX_CHANNELS} (7.1).`)
      const { channels } = facts
      const sampleRate = Math.min(facts.sampleRate, MAX_SAMPLE_RATE)
      const durationSec = facts.durationSec || input.durationSec
      const names = STEM_NAMES[stems]
      const g = chunkGeometry(sampleRate)
      const workers = Math.max(1, Math.min(MAX_WORKERS, context.parallelism, Math.ceil((durationSec * sampleRate) / g.step) || 1))
      const raw = Object.fromEntries(names.map((name) => [name, join(context.workDir, `${name}.f32`)]))

      const pool = startSeparationPool(workers, { sampleRate, stems, method: 'tympan', overlap: g.overlap }, context.signal)
      const buffers = bufferPool(g.step + g.overlap)
      const assembler = await stemAssembler(names, raw, channels, g.overlap, buffers.give)
      const running = new Set<Promise<void>>()
      const expected = Math.max(1, durationSec * sampleRate)
      try {
        context.progress(0.02, 'separating')
        // A failure of the separation stops the decode through the pipe; it is not the file's.
        let separationError: unknown
        const reader = chunkReader(channels, g, buffers, async (chunk) => {
          await pool.idle().catch((error: unknown) => { separationError = error; throw error })
          // One finished chunk waiting for its predecessor at most: allowing one per thread
          // measured 302 MiB peak on a 10-minute track, one in all 280 MiB, for 9% more time.
          await assembler.below(1)
          const length = chunk.channels[0]!.length
          const spare = Array.from({ length: (names.length - 1) * channels }, () => buffers.take(length))
          const job = pool.run({ ...chunk, spare })
            .then((result) => assembler.add(result))
            .then(() => { context.progress(0.02 + 0.86 * Math.min(1, assembler.written / expected), 'separating') })
          running.add(job)
          job.then(() => running.delete(job), () => {})
        })
        try {
          await runProcess(tools.ffmpeg, decodeArgs(path, sampleRate), {
            signal: context.signal,
            timeoutMs: decodeTimeoutMs(durationSec),
            pkg: PACKAGE,
            stdout: reader
          })
        } catch (error) {
          throw separationError ?? undecodable(error)
        }
        await Promise.all(running)
        const { chunks, energy } = await assembler.finish()
        if (reader.frames === 0) throw new EngineError('invalid-input', 'The file contains no decodable audio.')
        if (chunks !== reader.chunks) throw new EngineError('transient', 'The separation lost a chunk.')

        context.progress(0.9, 'encoding')
        const decodedSec = reader.frames / sampleRate
        const artifacts: ArtifactFile[] = []
        for (let i = 0; i < names.length; i += context.parallelism) {
          await Promise.all(names.slice(i, i + context.parallelism).map(async (name) => {
            const output = join(context.workDir, `${name}.${format}`)
            await runProcess(tools.ffmpeg, encodeArgs({ raw: raw[name]!, sampleRate, channels, format, output }), {
              signal: context.signal,
              timeoutMs: encodeTimeoutMs(decodedSec),
              pkg: PACKAGE
            })
            await rm(raw[name]!, { force: true })
            artifacts.push({ name: `${name}.${format}`, path: output, contentType: STEM_CONTENT_TYPES[format] })
          }))
        }
        const total = names.reduce((sum, name) => sum + energy[name]!, 0)
        const size = frameSize(sampleRate)
        const result: SeparateResult = {
          method: METHOD,
          stems: names,
          format,
          sampleRate,
          channels,
          durationSec: Math.round(decodedSec * 1000) / 1000,
          energyShare: Object.fromEntries(names.map((name) => [name, total > 0 ? Math.round((energy[name]! / total) * 1e4) / 1e4 : 0])),
          chunking: { chunkSeconds: CHUNK_SECONDS, overlapSeconds: OVERLAP_SECONDS, chunks, workers },
          frame: { size, hop: size / HOPS_PER_FRAME }
        }
        const summary = join(context.workDir, 'summary.json')
        await writeFile(summary, JSON.stringify(result, null, 2))
        artifacts.sort((a, b) => names.indexOf(a.name.split('.')[0] as never) - names.indexOf(b.name.split('.')[0] as never))
        artifacts.push({ name: 'summary.json', path: summary, contentType: 'application/json' })
        context.progress(1, 'done')
        return { result, artifacts }
      } finally {
        await pool.close()
        await assembler.close()
        await Promise.all(Object.values(raw).map((file) => rm(file, { force: true })))
      }
    }
  }
}
