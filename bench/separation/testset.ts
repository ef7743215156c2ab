// Builds the separation test set: songs from compose.ts, each stem rendered on its own
// (FluidSynth for drums, bass and chords; espeak-ng singing or flite speech for the voice),
// levelled, and summed into the mixture, so the references are exactly what the mixture is made
// of. Cached under the temp directory, keyed by TESTSET_VERSION and the SoundFont, never
// committed: change either and the set is built afresh.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { runProcess } from '../../src/engines/process.ts'
import { REFERENCE_STEMS, STYLES, composeSong, midiBytes, singingSsml, type ReferenceStem, type Song } from './compose.ts'
import { readWav, writeFloatWav, type Audio } from './wav.ts'

export const TESTSET_VERSION = 'v1'
export const SAMPLE_RATE = 44100
const SEED = 2026
// One SoundFont, whatever else is installed, so that the set (and the table) is the same on
// every machine: TimGM6mb is the one Tympan's set-up installs.
const SOUNDFONT = '/usr/share/sounds/sf2/TimGM6mb.sf2'
// Every stem is brought to this loudness (RMS over both channels) before its gain in the song.
const STEM_RMS_DB = -20
const PEAK = 0.9
const TOOL_TIMEOUT_MS = 120_000

export interface Mixture {
  name: string
  song: Omit<Song, 'midi'>
  mixturePath: string
  stemPaths: Record<ReferenceStem, string>
}

export interface TestSetOptions {
  count: number
  cacheRoot?: string
  log?: (line: string) => void
}

export function soundfont (): string {
  if (!fs.existsSync(SOUNDFONT)) throw new Error(`${SOUNDFONT} is missing: install the Debian package timgm6mb-soundfont`)
  return SOUNDFONT
}

const signal = new AbortController().signal
const run = (binary: string, args: string[], pkg: string, input?: string) =>
  runProcess(binary, args, { signal, timeoutMs: TOOL_TIMEOUT_MS, pkg, ...(input === undefined ? {} : { input }) })

const readRaw = (file: string) => {
  const bytes = fs.readFileSync(file)
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice()
}

/** FluidSynth's render of a MIDI file: raw float32 stereo, de-interleaved, cut or padded to `frames`. */
async function renderMidi (midiPath: string, scratch: string, frames: number): Promise<Float32Array[]> {
  const out = path.join(scratch, `${path.basename(midiPath, '.mid')}.raw`)
  await run('fluidsynth', ['-ni', '-q', '-T', 'raw', '-O', 'float', '-r', String(SAMPLE_RATE), '-F', out, soundfont(), midiPath], 'fluidsynth')
  const interleaved = readRaw(out)
  const channels = [new Float32Array(frames), new Float32Array(frames)]
  for (let n = 0; n < frames && 2 * n + 1 < interleaved.length; n++) {
    channels[0]![n] = interleaved[2 * n]!
    channels[1]![n] = interleaved[2 * n + 1]!
  }
  return channels
}

/** One phrase of the voice at 44.1 kHz mono, without the silence the synthesiser puts around it. */
async function renderPhrase (song: Song, index: number, scratch: string): Promise<Float32Array> {
  const { vocal } = song
  const phrase = vocal.phrases[index]!
  const wav = path.join(scratch, `phrase-${index}.wav`)
  if (vocal.engine === 'espeak-ng') {
    await run('espeak-ng', ['-v', vocal.voice, '-p', String(vocal.basePitch), '-m', '--stdin', '-w', wav], 'espeak-ng', singingSsml(phrase, vocal.ratePercent))
  } else {
    const text = path.join(scratch, `phrase-${index}.txt`)
    fs.writeFileSync(text, `${phrase.words.join(' ')}\n`)
    await run('flite', ['-voice', vocal.voice, '-f', text, '-o', wav], 'flite')
  }
  const raw = path.join(scratch, `phrase-${index}.raw`)
  await run('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', wav, '-ar', String(SAMPLE_RATE), '-ac', '1', '-f', 'f32le', raw], 'ffmpeg')
  const samples = readRaw(raw)
  let start = 0
  let end = samples.length
  while (start < end && Math.abs(samples[start]!) < 1e-3) start++
  while (end > start && Math.abs(samples[end - 1]!) < 1e-3) end--
  return samples.slice(start, end)
}

/** The voice, centred: phrases one after another with the song's short rests, repeated to fill. */
async function renderVocals (song: Song, scratch: string, frames: number): Promise<Float32Array[]> {
  const phrases = await Promise.all(song.vocal.phrases.map((_, i) => renderPhrase(song, i, scratch)))
  const mono = new Float32Array(frames)
  let at = Math.round(0.2 * SAMPLE_RATE)
  for (let i = 0; at < frames; i++) {
    const phrase = phrases[i % phrases.length]!
    mono.set(phrase.subarray(0, Math.max(0, frames - at)), at)
    at += phrase.length + Math.round(song.vocal.gapsSec[i % phrases.length]! * SAMPLE_RATE)
  }
  return [mono, mono.slice()]
}

function rms (channels: Float32Array[]): number {
  let sum = 0
  for (const c of channels) for (const v of c) sum += v * v
  return Math.sqrt(sum / (channels.length * channels[0]!.length))
}

async function buildMixture (song: Song, dir: string): Promise<void> {
  const frames = Math.round(song.durationSec * SAMPLE_RATE)
  const scratch = path.join(dir, 'scratch')
  fs.mkdirSync(scratch, { recursive: true })
  const stems = {} as Record<ReferenceStem, Float32Array[]>
  for (const part of ['drums', 'bass', 'other'] as const) {
    const midi = path.join(dir, `${part}.mid`)
    fs.writeFileSync(midi, midiBytes(song.midi[part]))
    stems[part] = await renderMidi(midi, scratch, frames)
  }
  stems.vocals = await renderVocals(song, scratch, frames)
  for (const stem of REFERENCE_STEMS) {
    const level = rms(stems[stem])
    if (level === 0) throw new Error(`the ${stem} stem of seed ${song.seed} rendered silent`)
    const gain = 10 ** ((STEM_RMS_DB + song.gainsDb[stem]) / 20) / level
    for (const c of stems[stem]) for (let n = 0; n < c.length; n++) c[n] = c[n]! * gain
  }
  const mixture = [new Float32Array(frames), new Float32Array(frames)]
  for (const stem of REFERENCE_STEMS) {
    for (let c = 0; c < 2; c++) for (let n = 0; n < frames; n++) mixture[c]![n] = mixture[c]![n]! + stems[stem][c]![n]!
  }
  // One factor for every stem, so the stems still sum to the mixture.
  const peak = Math.max(...mixture.map((c) => c.reduce((m, v) => Math.max(m, Math.abs(v)), 0)))
  const scale = peak > PEAK ? PEAK / peak : 1
  const write = (name: string, channels: Float32Array[]) => {
    const scaled = channels.map((c) => Float32Array.from(c, (v) => v * scale))
    writeFloatWav(path.join(dir, `${name}.wav`), { sampleRate: SAMPLE_RATE, channels: scaled })
  }
  for (const stem of REFERENCE_STEMS) write(stem, stems[stem])
  // The mixture is the sum of the stems as written, in float32: references and mixture agree to the bit.
  const written = REFERENCE_STEMS.map((stem) => readWav(path.join(dir, `${stem}.wav`)).channels)
  const sum = [0, 1].map((c) => Float32Array.from({ length: frames }, (_, n) => written.reduce((s, stem) => s + stem[c]![n]!, 0)))
  writeFloatWav(path.join(dir, 'mixture.wav'), { sampleRate: SAMPLE_RATE, channels: sum })
  const { midi: _midi, ...description } = song
  fs.writeFileSync(path.join(dir, 'song.json'), `${JSON.stringify(description, null, 2)}\n`)
  fs.rmSync(scratch, { recursive: true, force: true })
}

export function cacheDir (root = path.join(os.tmpdir(), 'tympan-bench-separation')): string {
  return path.join(root, `${TESTSET_VERSION}-${path.basename(soundfont(), '.sf2')}`)
}

/** The first `count` mixtures (styles in turn, one seed each), built on first use. */
export async function testSet ({ count, cacheRoot, log }: TestSetOptions): Promise<Mixture[]> {
  const root = cacheDir(cacheRoot)
  fs.mkdirSync(root, { recursive: true })
  const mixtures: Mixture[] = []
  for (let i = 0; i < count; i++) {
    const song = composeSong(SEED + i, STYLES[i % STYLES.length]!)
    const name = `mix-${i + 1}-${song.style}`
    const dir = path.join(root, name)
    if (!fs.existsSync(path.join(dir, 'song.json'))) {
      log?.(`building ${name} (${song.tempo} bpm, ${song.key}, ${song.durationSec.toFixed(1)} s)`)
      // Built aside and renamed into place: an interrupted build leaves no half mixture in the cache.
      const building = fs.mkdtempSync(path.join(root, `.${name}-`))
      await buildMixture(song, building)
      fs.rmSync(dir, { recursive: true, force: true })
      fs.renameSync(building, dir)
    }
    const { midi: _midi, ...description } = song
    mixtures.push({
      name,
      song: description,
      mixturePath: path.join(dir, 'mixture.wav'),
      stemPaths: Object.fromEntries(REFERENCE_STEMS.map((stem) => [stem, path.join(dir, `${stem}.wav`)])) as Record<ReferenceStem, string>
    })
  }
  return mixtures
}

export function loadStems (mixture: Mixture): Record<ReferenceStem, Audio> {
  return Object.fromEntries(REFERENCE_STEMS.map((stem) => [stem, readWav(mixture.stemPaths[stem])])) as Record<ReferenceStem, Audio>
}
