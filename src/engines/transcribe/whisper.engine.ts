import { access, readFile } from 'node:fs/promises'
import { constants } from 'node:fs'
import { basename, join } from 'node:path'
import { EngineError } from '../engine.ts'
import type { Engine, EngineStatus } from '../engine.ts'
import { runProcess } from '../process.ts'
import { decodeAudio } from './decode.ts'
import { WHISPER_LANGUAGES, pickLanguage } from './languages.ts'
import { writeTranscriptArtifacts } from './transcript-artifacts.ts'
import { roundMs } from './transcript.ts'
import type { TranscribeParams, Transcript } from './transcript.ts'
import { segmentReporter } from './partial-segments.ts'
import { parsePrintedSegment, parseWhisperJson } from './whisper.json.ts'
import type { WhisperParse } from './whisper.json.ts'

export interface WhisperOptions {
  /** The whisper.cpp CLI (`whisper-cli`, formerly `main`). */
  bin?: string
  /** A ggml model file; none ships with Tympan. */
  model?: string
  /** Overrides the budget derived from the audio's length. */
  timeoutMs?: number
}

// Debian 12 packages neither whisper.cpp nor a model: the operator brings both.
const PACKAGE = ''
const NOT_CONFIGURED = 'set WHISPER_CPP_BIN and WHISPER_MODEL'
// Large models on two CPU cores run several times slower than real time.
const defaultTimeoutMs = (durationSec: number) => 120_000 + durationSec * 10_000

const canUse = (path: string, mode: number) => access(path, mode).then(() => true, () => false)

/** English-only models (`ggml-base.en.bin`, `ggml-small.en-q5_1.bin`) know one language. */
function modelLanguages (model: string): string[] {
  return /\.en([.-]|$)/.test(basename(model)) ? ['en'] : Object.keys(WHISPER_LANGUAGES)
}

/** The JSON the CLI left; its absence or garbage is a crash worth another attempt. */
async function readOutput (path: string, language: string | undefined): Promise<WhisperParse> {
  const output = await readFile(path).catch((error: unknown) => {
    throw new EngineError('transient', 'whisper.cpp finished without writing a transcript.', { cause: error })
  })
  try {
    return parseWhisperJson(output, language)
  } catch (error) {
    throw new EngineError('transient', 'whisper.cpp wrote a transcript that could not be read.', { cause: error })
  }
}

/** Pure: the CLI arguments; token-level offsets and probabilities come with `-ojf`. */
export function whisperArgs (options: { model: string, wav: string, prefix: string, language: string | undefined, threads: number, prompt?: string, temperature?: number }): string[] {
  return [
    '-m', options.model, '-f', options.wav, '-l', options.language ?? 'auto',
    '-oj', '-ojf', '-of', options.prefix, '-t', String(Math.max(1, Math.floor(options.threads))), '-pp',
    ...(options.prompt ? ['--prompt', options.prompt] : []),
    ...(options.temperature !== undefined ? ['-tp', String(options.temperature)] : [])
  ]
}

/**
 * whisper.cpp, when an operator provides the binary and a model (the caller passes them in,
 * from WHISPER_CPP_BIN and WHISPER_MODEL). Word confidence is the mean probability of the
 * word's tokens. The CLI exits 0 even when it could not read its input or did not know the
 * language, so success is judged by the JSON it leaves behind.
 */
export function createWhisperEngine (options: WhisperOptions = {}): Engine<TranscribeParams, Transcript> {
  const { bin, model } = options

  return {
    name: 'whisper',

    async status (): Promise<EngineStatus> {
      if (!bin || !model) return { name: 'whisper', available: false, package: PACKAGE, detail: NOT_CONFIGURED }
      const [binOk, modelOk] = await Promise.all([canUse(bin, constants.X_OK), canUse(model, constants.R_OK)])
      const detail = !binOk
        ? 'WHISPER_CPP_BIN does not name an executable whisper.cpp CLI'
        : !modelOk ? 'WHISPER_MODEL does not name a readable model file' : `model ${basename(model)}`
      return { name: 'whisper', available: binOk && modelOk, package: PACKAGE, languages: modelLanguages(model), detail }
    },

    async run (input, params, context) {
      if (!bin || !model) throw new EngineError('missing-engine', `whisper.cpp is not configured: ${NOT_CONFIGURED}.`)
      if (!await canUse(model, constants.R_OK)) throw new EngineError('missing-engine', 'The whisper model file is missing or unreadable: check WHISPER_MODEL.')
      const language = pickLanguage(params.language, modelLanguages(model))
      const temperature = params.temperature
      if (temperature !== undefined && !(temperature >= 0 && temperature <= 1)) {
        throw new EngineError('invalid-input', 'temperature must be between 0 and 1')
      }

      context.progress(0, 'decoding')
      const wav = join(context.workDir, 'audio.wav')
      await decodeAudio(input.path, wav, 'wav', { signal: context.signal, durationSec: input.durationSec })

      context.progress(0.05, 'recognising')
      const prefix = join(context.workDir, 'whisper')
      const args = whisperArgs({ model, wav, prefix, language, threads: context.parallelism, prompt: params.prompt, temperature })
      const report = segmentReporter(context.partial)
      let printed = 0
      try {
        await runProcess(bin, args, {
          signal: context.signal,
          timeoutMs: options.timeoutMs ?? defaultTimeoutMs(input.durationSec),
          pkg: PACKAGE,
          maxOutput: 1 << 16,
          // The CLI prints each segment as it decodes it, in order.
          onStdoutLine: (line) => {
            const segment = report && parsePrintedSegment(line)
            if (segment) report.put(printed++, segment)
          },
          onStderrLine: (line) => {
            const percent = /progress\s*=\s*(\d+)%/.exec(line)?.[1]
            if (percent) context.progress(0.05 + (0.9 * Math.min(100, Number(percent))) / 100, `recognising ${percent}%`)
          }
        })
      } catch (error) {
        if (error instanceof EngineError && error.kind === 'missing-engine') {
          throw new EngineError('missing-engine', 'whisper.cpp was not found: set WHISPER_CPP_BIN to its whisper-cli binary.', { cause: error })
        }
        throw error
      }

      const parsed = await readOutput(`${prefix}.json`, language)
      const transcript: Transcript = {
        text: parsed.segments.map((s) => s.text).join(' '),
        segments: parsed.segments,
        language: parsed.language ?? language ?? 'en',
        duration: roundMs(input.durationSec),
        engine: 'whisper'
      }
      context.progress(0.97, 'writing transcripts')
      const artifacts = await writeTranscriptArtifacts(context.workDir, transcript, { words: params.wordTimestamps === true })
      return { result: transcript, artifacts }
    }
  }
}
