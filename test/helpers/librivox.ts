import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/**
 * The five LibriVox utterances with reference transcripts that Debian's pocketsphinx-testdata
 * ships: real read speech, which is what the recogniser is built for (espeak-ng's synthetic
 * voice is out of its domain).
 */
export const LIBRIVOX_DIR = '/usr/share/pocketsphinx/test/data/librivox'

export interface Utterance {
  id: string
  file: string
  reference: string
}

export function librivoxMissing (): string | false {
  return fs.existsSync(path.join(LIBRIVOX_DIR, 'transcription')) ? false : `pocketsphinx-testdata is not installed (${LIBRIVOX_DIR})`
}

export function utterances (): Utterance[] {
  return fs.readFileSync(path.join(LIBRIVOX_DIR, 'transcription'), 'utf8').trim().split('\n').map((line) => {
    const match = /^<s> (.*) <\/s> \((.*)\)$/.exec(line.trim())
    if (!match) throw new Error(`unexpected transcription line: ${line}`)
    return { id: match[2]!, file: path.join(LIBRIVOX_DIR, `${match[2]!}.wav`), reference: match[1]! }
  })
}

const made = new Map<string, string>()

/**
 * The utterances one after another with `gapSec` of silence between them, repeated until the
 * recording is at least `minSeconds` long (a 16 kHz mono WAV, cached per process).
 */
export function librivoxRecording (minSeconds: number, gapSec = 1): { file: string, references: string[] } {
  const all = utterances()
  const references: string[] = []
  const parts: string[] = []
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-librivox-'))
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
  const gap = path.join(dir, 'gap.wav')
  // sox dithers the generated silence to ±1 LSB with fresh random numbers on each run, which moved
  // the recogniser's results between runs (WER 0.268 or 0.282 for the same settings); -R seeds
  // the dither, so every run hears the same recording.
  execFileSync('sox', ['-R', '-n', '-r', '16000', '-c', '1', '-b', '16', gap, 'trim', '0', String(gapSec)])
  let seconds = 0
  while (seconds < minSeconds) {
    for (const u of all) {
      parts.push(u.file, gap)
      references.push(u.reference)
      seconds += Number(execFileSync('soxi', ['-D', u.file]).toString()) + gapSec
    }
  }
  const key = `${minSeconds}:${gapSec}`
  const cached = made.get(key)
  if (cached) return { file: cached, references }
  const out = path.join(dir, `librivox-${minSeconds}s.wav`)
  execFileSync('sox', [...parts, out])
  made.set(key, out)
  return { file: out, references }
}
