import { mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { EngineError, type EngineStatus } from '../engine.ts'
import { runProcess } from '../process.ts'
import { debianVersion } from '../transcribe/installed.ts'
import { runAll } from '../transcribe/run-all.ts'
import { parseEspeakVoices } from './espeak-voices.ts'
import { chunkText } from './sentences.ts'
import { OUTPUT_RATE, concatList, joinArgs, residualTempo, speakable, synthCommand, type SynthCommand } from './speak-args.ts'
import { planSpeech, type SpeechPlan } from './speech-plan.ts'
import { VoiceError, catalogue, type Installed, type Voice } from './voices.ts'
import { readWavHeader } from './wav.ts'

export interface SpeechRequest {
  text: string
  /** An OpenAI name (`nova`) or a Tympan id (`flite:rms`); default: the language's best voice. */
  voice?: string
  /** A language tag (`es`, `pt-br`); default English, or the voice's own. */
  language?: string
  /** 0.25–4; 1 is the voice's own pace. */
  speed?: number
}

export interface SynthesiseOptions {
  signal: AbortSignal
  workDir: string
  /** How many synthesiser processes may run at once (default 1). */
  parallelism?: number
  /** Fraction 0–1 of the synthesis and a short stage ("speaking 3/9"). */
  progress?: (fraction: number, stage: string) => void
}

export interface Synthesiser {
  voices(): Promise<Voice[]>
  /** Writes a mono WAV of `text` at `outPath` (in workDir); returns its duration and the voice used. */
  synthesise(req: SpeechRequest, outPath: string, opts: SynthesiseOptions): Promise<{ durationSec: number, voice: string, sampleRate: number }>
}

export interface SynthesiserOptions {
  /** The binaries, for tests of a missing engine. */
  binaries?: Partial<Record<'festival' | 'text2wave' | 'flite' | 'espeak-ng' | 'ffmpeg', string>>
}

// What is installed changes when an operator installs a package: re-probed after this long,
// not on every job (four processes).
const PROBE_TTL_MS = 60_000
const PACKAGES = ['festival', 'flite', 'espeak-ng'] as const
const PROBE = { signal: new AbortController().signal, timeoutMs: 10_000, maxOutput: 1 << 20 }
// Characters per process: enough to outweigh a start-up (festival loads its voice in ~0.3 s),
// few enough that the chunks of a long text share out among the cores.
const MIN_CHUNK = 150
const MAX_CHUNK = 600
// The slowest engine (festival HTS) synthesises at about 0.2 × real time and reads about 15
// characters a second: these budgets are ten times that and more, for a loaded machine.
const chunkTimeoutMs = (chars: number, speed: number) => 60_000 + (chars * 100) / Math.min(1, speed)

async function probe (binary: string, args: string[], pkg: string): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await runProcess(binary, args, { ...PROBE, pkg })
    return `${stdout}\n${stderr}`
  } catch {
    return undefined
  }
}

/**
 * Speech from three Debian engines: festival with its HTS voice and flite for English (natural
 * prosody), espeak-ng for every other language it has. Long text is cut at sentences and the
 * chunks are synthesised in parallel, then joined by ffmpeg, which also shifts the pitch of the
 * pitched voices and resamples everything to 24 kHz mono.
 */
export function createSynthesiser (options: SynthesiserOptions = {}): Synthesiser & { status(): Promise<EngineStatus> } {
  const bin = (name: 'festival' | 'text2wave' | 'flite' | 'espeak-ng' | 'ffmpeg') => options.binaries?.[name] ?? name
  let cached: { at: number, found: Promise<{ installed: Installed, versions: Record<string, string | undefined> }> } | undefined

  async function detect () {
    const [festival, flite, espeak, filters, ...versions] = await Promise.all([
      probe(bin('festival'), ['-b', '(print (voice.list))'], 'festival'),
      probe(bin('flite'), ['-lv'], 'flite'),
      probe(bin('espeak-ng'), ['--voices'], 'espeak-ng'),
      probe(bin('ffmpeg'), ['-hide_banner', '-filters'], 'ffmpeg'),
      ...PACKAGES.map((pkg) => debianVersion(pkg))
    ])
    const installed: Installed = {
      // text2wave, which synthesises, is festival's own script from the same package.
      festivalVoices: /\(([a-z0-9_ ]*)\)/.exec(festival ?? '')?.[1]?.split(' ').filter(Boolean) ?? [],
      fliteVoices: /Voices available:([a-z0-9_ ]*)/.exec(flite ?? '')?.[1]?.trim().split(' ').filter(Boolean) ?? [],
      espeak: espeak === undefined ? [] : parseEspeakVoices(espeak.trim()),
      pitchShift: / rubberband /.test(filters ?? '')
    }
    return { installed, versions: Object.fromEntries(PACKAGES.map((pkg, i) => [pkg, versions[i]])) }
  }

  const found = () => {
    if (!cached || Date.now() - cached.at > PROBE_TTL_MS) cached = { at: Date.now(), found: detect() }
    return cached.found
  }
  const voices = async () => catalogue((await found()).installed)

  async function synthesiseChunk (command: SynthCommand, chars: number, speed: number, signal: AbortSignal, out: string): Promise<void> {
    await runProcess(bin(command.binary), command.args, { signal, timeoutMs: chunkTimeoutMs(chars, speed), pkg: command.pkg, maxOutput: 64 * 1024 })
    if (!await wavInfo(out)) throw new EngineError('transient', `${command.binary} produced no audio.`)
  }

  return {
    voices,

    async status (): Promise<EngineStatus> {
      const { installed, versions } = await found()
      const list = catalogue(installed)
      const missing = [
        ...(installed.festivalVoices.includes('cmu_us_slt_arctic_hts') ? [] : ['festival\'s HTS voice (Debian festival, festvox-us-slt-hts)']),
        ...(installed.fliteVoices.length ? [] : ['flite']),
        ...(installed.espeak.length ? [] : ['espeak-ng (every language but English)']),
        ...(installed.pitchShift ? [] : ['ffmpeg\'s rubberband filter (the pitched voices)'])
      ]
      // `package` and `version` are espeak-ng's, the engine of every language; the English
      // engines are named in the detail (`tympan doctor` prints package, version, detail).
      const english = (['festival', 'flite'] as const).filter((name) => versions[name]).map((name) => `${name} ${versions[name]!}`)
      const details = [...(english.length ? [`English: ${english.join(', ')}`] : []), ...(missing.length ? [`not installed: ${missing.join('; ')}`] : [])]
      return {
        name: 'speak',
        available: list.length > 0,
        package: 'espeak-ng',
        ...(versions['espeak-ng'] ? { version: versions['espeak-ng'] } : {}),
        languages: [...new Set(list.map((v) => v.language.split('-')[0]!))].sort(),
        voices: list.map((v) => v.id),
        voiceDetails: list,
        ...(list.length === 0
          ? { detail: 'No speech engine is installed: install the Debian package espeak-ng.' }
          : details.length ? { detail: details.join('; ') } : {})
      }
    },

    async synthesise (req, outPath, opts) {
      const list = await voices()
      if (list.length === 0) throw new EngineError('missing-engine', 'No speech engine is installed: install the Debian package espeak-ng.')
      let plan: SpeechPlan
      try {
        plan = planSpeech(list, req)
      } catch (error) {
        if (error instanceof VoiceError) throw new EngineError('invalid-input', `${error.message}.`)
        throw error
      }
      const { recipe, text, speed } = plan
      const parallelism = Math.max(1, Math.floor(opts.parallelism ?? 1))
      const size = Math.min(MAX_CHUNK, Math.max(MIN_CHUNK, Math.ceil(text.length / parallelism)))
      const chunks = chunkText(text, size).filter(speakable)

      // A directory of its own per call: callers may synthesise several texts in one work directory at once.
      const scratch = await mkdtemp(join(opts.workDir, 'speak-'))
      try {
        const names = chunks.map((_, i) => `chunk-${String(i).padStart(4, '0')}.wav`)
        let next = 0
        let done = 0
        opts.progress?.(0, `speaking 0/${chunks.length}`)
        const worker = async (signal: AbortSignal) => {
          while (next < chunks.length && !signal.aborted) {
            const i = next++
            const textFile = join(scratch, `chunk-${String(i).padStart(4, '0')}.txt`)
            const out = join(scratch, names[i]!)
            await writeFile(textFile, `${chunks[i]!}\n`, { mode: 0o600 })
            await synthesiseChunk(synthCommand(recipe.engine, recipe.model, speed, textFile, out), chunks[i]!.length, speed, signal, out)
            done++
            opts.progress?.(done / (chunks.length + 1), `speaking ${done}/${chunks.length}`)
          }
        }
        await runAll(Array.from({ length: Math.min(parallelism, chunks.length) }, () => worker), opts.signal)

        opts.progress?.(chunks.length / (chunks.length + 1), 'joining')
        const listFile = join(scratch, 'chunks.txt')
        await writeFile(listFile, concatList(names), { mode: 0o600 })
        await runProcess(bin('ffmpeg'), joinArgs({ list: listFile, pitch: recipe.pitch, tempo: residualTempo(recipe.engine, speed), out: outPath }), {
          signal: opts.signal, timeoutMs: 60_000 + text.length * 20, pkg: 'ffmpeg', maxOutput: 64 * 1024
        })
      } finally {
        await rm(scratch, { recursive: true, force: true })
      }
      const info = await wavInfo(outPath)
      if (!info) throw new EngineError('transient', 'ffmpeg produced no audio.')
      opts.progress?.(1, 'spoken')
      return { durationSec: Math.round(info.durationSec * 1000) / 1000, voice: plan.voice, sampleRate: OUTPUT_RATE }
    }
  }
}

async function wavInfo (path: string) {
  const size = await stat(path).then((s) => s.size, () => undefined)
  if (size === undefined) return undefined
  const handle = await open(path, 'r')
  try {
    const head = Buffer.alloc(4096)
    const { bytesRead } = await handle.read(head, 0, head.length, 0)
    return readWavHeader(head.subarray(0, bytesRead), size)
  } finally {
    await handle.close()
  }
}
