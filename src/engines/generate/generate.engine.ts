import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseEbur128Summary } from '../analyze/ebur128.ts'
import { progressSeconds } from '../analyze/ffmpeg-args.ts'
import { EngineError, type EngineContext, type EngineStatus, type SourceEngine } from '../engine.ts'
import { runProcess } from '../process.ts'
import { compose } from './composer.ts'
import { describe, summarise, type GenerateResult } from './description.ts'
import { toMidi } from './midi.ts'
import { DURATION_MAX_SEC, DURATION_MIN_SEC, planPiece, TEMPO_MAX, TEMPO_MIN } from './plan.ts'
import { normalisePrompt, PROMPT_MAX_CHARS } from './prompt.ts'
import { SEED_MAX } from './random.ts'
import { encodeArgs, fluidsynthArgs, gainFor, measureArgs, samplesOf, type AudioFormat } from './render-args.ts'
import { chooseSoundFont, DEBIAN_SOUNDFONTS, type SoundFont } from './soundfont.ts'
import { KEY_PATTERN, parseKey } from './theory.ts'

export type { GenerateResult } from './description.ts'

export interface GenerateParams {
  prompt: string
  durationSec: number
  seed?: number
  tempo?: number
  key?: string
  format?: AudioFormat
}

export interface GenerateOptions {
  /** SOUNDFONT: a path that overrides the installed Debian SoundFonts. */
  soundfont?: string
  fluidsynth?: string
  ffmpeg?: string
  /** The Debian SoundFonts looked for, best first (tests narrow it). */
  candidates?: readonly SoundFont[]
}

const PACKAGE = 'fluidsynth'
// Status probes are not part of a job: nothing cancels them, a short timeout bounds them.
const PROBE = { signal: new AbortController().signal, timeoutMs: 5000 }
const KEY = new RegExp(KEY_PATTERN)
// FluidSynth renders many times faster than real time; the budgets leave room for a loaded machine.
const renderTimeoutMs = (durationSec: number) => 30_000 + durationSec * 1000
const ffmpegTimeoutMs = (durationSec: number) => 30_000 + durationSec * 500

/** The params as the job schema promises them; the CLI's local runs come here unchecked. */
export function checkGenerateParams (params: GenerateParams): string | undefined {
  if (typeof params.prompt !== 'string' || params.prompt.length < 1 || [...params.prompt].length > PROMPT_MAX_CHARS) return `prompt must be 1 to ${PROMPT_MAX_CHARS} characters`
  if (normalisePrompt(params.prompt) === '') return 'prompt has no printable characters'
  if (!(Number.isFinite(params.durationSec) && params.durationSec >= DURATION_MIN_SEC && params.durationSec <= DURATION_MAX_SEC)) return `durationSec must be a number from ${DURATION_MIN_SEC} to ${DURATION_MAX_SEC}`
  if (params.seed !== undefined && !(Number.isInteger(params.seed) && params.seed >= 0 && params.seed <= SEED_MAX)) return `seed must be an integer from 0 to ${SEED_MAX}`
  if (params.tempo !== undefined && !(Number.isFinite(params.tempo) && params.tempo >= TEMPO_MIN && params.tempo <= TEMPO_MAX)) return `tempo must be from ${TEMPO_MIN} to ${TEMPO_MAX} BPM`
  if (params.key !== undefined && !(KEY.test(params.key) && parseKey(params.key))) return 'key must be a key such as "A minor", "F#m" or "Bb major"'
  if (params.format !== undefined && params.format !== 'wav' && params.format !== 'mp3') return 'format must be wav or mp3'
  return undefined
}

async function fluidsynthVersion (bin: string): Promise<string | undefined> {
  try {
    const { stdout } = await runProcess(bin, ['--version'], { ...PROBE, pkg: PACKAGE })
    return /version (\d+\.\d+\.\d+)/.exec(stdout)?.[1] ?? 'unknown'
  } catch {
    return undefined
  }
}

/**
 * Procedural music from a prompt: the composer (plan.ts, composer.ts) makes a MIDI file, and
 * FluidSynth renders it with a General MIDI SoundFont; ffmpeg sets the level and the exact
 * length and encodes. Artifacts: `music.wav` or `music.mp3`, `music.mid`, `composition.json`.
 * Another engine (a MusicGen adapter) would keep this interface: params in, the same artifacts out.
 */
export function generateEngine (options: GenerateOptions = {}): SourceEngine<GenerateParams, GenerateResult> {
  const fluidsynth = options.fluidsynth ?? 'fluidsynth'
  const ffmpeg = options.ffmpeg ?? 'ffmpeg'
  const soundfont = async () => chooseSoundFont(options.soundfont ?? '', options.candidates ?? DEBIAN_SOUNDFONTS)

  async function render (midi: string, durationSec: number, format: AudioFormat, font: SoundFont, context: EngineContext): Promise<string> {
    const raw = join(context.workDir, 'render.wav')
    context.progress(0.1, 'rendering')
    await runProcess(fluidsynth, fluidsynthArgs({ soundfont: font.path, midi, wav: raw }), { signal: context.signal, timeoutMs: renderTimeoutMs(durationSec), pkg: PACKAGE })
    context.progress(0.75, 'encoding')
    const { stderr } = await runProcess(ffmpeg, measureArgs(raw, samplesOf(durationSec)), { signal: context.signal, timeoutMs: ffmpegTimeoutMs(durationSec), pkg: 'ffmpeg' })
    const output = join(context.workDir, `music.${format}`)
    await runProcess(ffmpeg, encodeArgs({ wav: raw, output, durationSec, gainDb: gainFor(parseEbur128Summary(stderr)), format }), {
      signal: context.signal,
      timeoutMs: ffmpegTimeoutMs(durationSec),
      pkg: 'ffmpeg',
      onStdoutLine (line) {
        const seconds = progressSeconds(line)
        if (seconds !== undefined) context.progress(0.8 + 0.2 * Math.min(1, seconds / durationSec), 'encoding')
      }
    })
    await rm(raw, { force: true })
    return output
  }

  return {
    name: 'generate',

    async status (): Promise<EngineStatus> {
      const [version, font] = await Promise.all([fluidsynthVersion(fluidsynth), soundfont()])
      const base = { name: 'generate', package: PACKAGE, ...(version ? { version } : {}) }
      if (!version) return { ...base, available: false, detail: `${fluidsynth} does not run: install the Debian package ${PACKAGE}.` }
      if ('missing' in font) return { ...base, available: false, detail: `${font.missing}.` }
      return { ...base, available: true, detail: `procedural composer; SoundFont ${font.soundfont.name}` }
    },

    async run (params, context) {
      const problem = checkGenerateParams(params)
      if (problem) throw new EngineError('invalid-input', `${problem}.`)
      const format = params.format ?? 'wav'
      const font = await soundfont()
      if ('missing' in font) throw new EngineError('missing-engine', `${font.missing[0]!.toUpperCase()}${font.missing.slice(1)}.`)
      context.progress(0, 'composing')
      const composition = compose(planPiece({
        prompt: params.prompt,
        durationSec: params.durationSec,
        ...(params.seed !== undefined ? { seed: params.seed } : {}),
        ...(params.tempo !== undefined ? { tempo: params.tempo } : {}),
        ...(params.key !== undefined ? { key: params.key } : {})
      }))
      const midi = join(context.workDir, 'music.mid')
      await writeFile(midi, toMidi(composition))
      const rendering = { soundfont: font.soundfont.name, format }
      const json = join(context.workDir, 'composition.json')
      await writeFile(json, `${JSON.stringify(describe(composition, rendering), null, 2)}\n`)
      const audio = await render(midi, params.durationSec, format, font.soundfont, context)
      return {
        result: summarise(composition, rendering),
        artifacts: [
          { name: `music.${format}`, path: audio, contentType: format === 'mp3' ? 'audio/mpeg' : 'audio/wav' },
          { name: 'music.mid', path: midi, contentType: 'audio/midi' },
          { name: 'composition.json', path: json, contentType: 'application/json' }
        ]
      }
    }
  }
}
