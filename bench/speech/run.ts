// bench/speech: how intelligible and how fast each installed voice is.
//   - intelligibility: every installed English voice reads the ten Harvard sentences of list 1
//     (harvard-list-1.txt, IEEE 1969), the pocketsphinx engine transcribes the audio, and the
//     word error rate against the sentences is the voice's score (a machine listener: it favours
//     voices near its training speech, so read it as a ranking, not as a human judgement);
//   - the real-time factor of synthesis (synthesis time / audio time) with every core;
//   - with --speed-methods: the default voice at other speeds, by the engine's own control and
//     by ffmpeg's atempo afterwards, to show which keeps the words.
// Aim: the default voice ≤ 40% WER.
// Sections are functions of their own: speech translation adds its own (text translation
// characters per second, speech-to-speech RTF) beside these.
// Usage: node bench/speech/run.ts [--voices id,id] [--speed-methods]
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { runProcess } from '../../src/engines/process.ts'
import { createSynthesiser, type Voice } from '../../src/engines/speak/index.ts'
import { atempoChain } from '../../src/engines/speak/speak-args.ts'
import { transcribeEngines } from '../../src/engines/transcribe/index.ts'
import { wordErrorRate } from '../../src/engines/transcribe/wer.ts'
import { printTable } from '../lib/server.ts'

const { values } = parseArgs({ options: { voices: { type: 'string' }, 'speed-methods': { type: 'boolean', default: false } } })
const CORES = os.availableParallelism()
const SENTENCES = fs.readFileSync(path.join(import.meta.dirname, 'harvard-list-1.txt'), 'utf8').trim().split('\n')
const REFERENCE = SENTENCES.join(' ')
const synthesiser = createSynthesiser()
const recogniser = transcribeEngines({}).pocketsphinx
const never = new AbortController().signal

async function scratch<T> (work: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-bench-speech-'))
  try { return await work(dir) } finally { fs.rmSync(dir, { recursive: true, force: true }) }
}

/** The sentences in one voice: the WAV's path in `dir`, its duration and the synthesis time. */
async function speak (dir: string, voice: string, speed = 1) {
  const out = path.join(dir, 'speech.wav')
  const started = performance.now()
  const spoken = await synthesiser.synthesise({ text: SENTENCES.join('\n'), voice, speed }, out, { signal: never, workDir: dir, parallelism: CORES })
  return { out, durationSec: spoken.durationSec, seconds: (performance.now() - started) / 1000 }
}

async function heard (dir: string, wav: string, durationSec: number): Promise<number> {
  const work = path.join(dir, 'recognise')
  fs.mkdirSync(work)
  const { result } = await recogniser.run({ path: wav, durationSec }, { language: 'en' }, { progress: () => {}, signal: never, workDir: work, parallelism: CORES })
  return wordErrorRate(REFERENCE, result.text).wer
}

/** Section: WER and synthesis RTF of each English voice (natural ones, and espeak-ng's for comparison). */
async function intelligibility (voices: Voice[]): Promise<void> {
  const rows: (string | number)[][] = [['voice', 'engine', 'OpenAI names', 'audio s', 'synthesis RTF', 'WER']]
  for (const voice of voices) {
    rows.push(await scratch(async (dir) => {
      const spoken = await speak(dir, voice.id)
      const wer = await heard(dir, spoken.out, spoken.durationSec)
      return [voice.id, voice.engine, voice.openai?.join(' ') ?? '', spoken.durationSec.toFixed(1), (spoken.seconds / spoken.durationSec).toFixed(3), `${(wer * 100).toFixed(1)}%`]
    }))
  }
  printTable(`bench/speech: intelligibility, Harvard list 1 (${SENTENCES.length} sentences, ${wordErrorRate(REFERENCE, '').referenceWords} words) read by each voice and transcribed by pocketsphinx; ${CORES} cores (aim: default voice ≤ 40% WER)`, rows)
}

/** Section: the default voice at other speeds, the engine's own control against atempo afterwards. */
async function speedMethods (voice: string): Promise<void> {
  const rows: (string | number)[][] = [['speed', 'engine\'s own: WER', 'atempo after: WER']]
  for (const speed of [0.5, 1.5, 2.5]) {
    const native = await scratch(async (dir) => { const s = await speak(dir, voice, speed); return heard(dir, s.out, s.durationSec) })
    const stretched = await scratch(async (dir) => {
      const s = await speak(dir, voice)
      const out = path.join(dir, 'stretched.wav')
      await runProcess('ffmpeg', ['-v', 'error', '-i', s.out, '-af', atempoChain(speed).join(','), '-y', out], { signal: never, timeoutMs: 120_000, pkg: 'ffmpeg' })
      return heard(dir, out, s.durationSec / speed)
    })
    rows.push([speed, `${(native * 100).toFixed(1)}%`, `${(stretched * 100).toFixed(1)}%`])
  }
  printTable(`bench/speech: speed control of ${voice}, WER on Harvard list 1`, rows)
}

const all = await synthesiser.voices()
const wanted = values.voices?.split(',')
const english = all.filter((v) => wanted ? wanted.includes(v.id) : v.language.startsWith('en') && (v.engine !== 'espeak-ng' || v.id === 'espeak:en-us'))
if (english.length === 0) throw new Error('no English voice is installed (festival festvox-us-slt-hts, flite or espeak-ng)')
await intelligibility(english)
if (values['speed-methods']) await speedMethods(english[0]!.id)
