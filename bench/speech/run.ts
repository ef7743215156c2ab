// bench/speech: how intelligible and how fast each installed voice is.
//   - intelligibility: every installed English voice reads the ten Harvard sentences of list 1
//     (harvard-list-1.txt, IEEE 1969), the pocketsphinx engine transcribes the audio, and the
//     word error rate against the sentences is the voice's score (a machine listener: it favours
//     voices near its training speech, so read it as a ranking, not as a human judgement);
//   - the real-time factor of synthesis (synthesis time / audio time) with every core;
//   - with --speed-methods: the default voice at other speeds, by the engine's own control and
//     by ffmpeg's atempo afterwards, to show which keeps the words.
// Aim: the default voice ≤ 40% WER.
// Sections are functions of their own; speech translation adds three beside these:
//   - translation: characters per second of text translation (translateMany, what the
//     translate job sends) on the LibriVox transcripts, direct (en → es) and through a pivot
//     (en → es → pt), the Apertium start-up included;
//   - s2s: the real-time factor of a whole speech-to-speech translation (translate job with
//     speak, en → es) of each of the five LibriVox utterances, and its stages;
//   - speed-cap (only when asked): pocketsphinx's WER on the utterances sped up by atempo,
//     which set the timeline's default speed cap (src/engines/translate-speech/timeline.ts).
// Usage: node bench/speech/run.ts [--sections voices,translation,s2s,speed-cap] [--voices id,id] [--speed-methods]
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { runProcess } from '../../src/engines/process.ts'
import { createSynthesiser, type Voice } from '../../src/engines/speak/index.ts'
import { atempoChain } from '../../src/engines/speak/speak-args.ts'
import { createEngines } from '../../src/engines/registry.ts'
import { transcribeEngines } from '../../src/engines/transcribe/index.ts'
import { createApertiumTranslator } from '../../src/engines/translate/index.ts'
import { wordErrorRate } from '../../src/engines/transcribe/wer.ts'
import { printTable } from '../lib/server.ts'

const { values } = parseArgs({ options: { voices: { type: 'string' }, 'speed-methods': { type: 'boolean', default: false }, sections: { type: 'string', default: 'voices,translation,s2s' }, rounds: { type: 'string', default: '3' } } })
const SECTIONS = new Set(values.sections.split(','))
const ROUNDS = Number(values.rounds)
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

const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox'
/** The five LibriVox utterances of pocketsphinx-testdata with their reference transcripts. */
function librivox (): Array<{ file: string, reference: string }> {
  return fs.readFileSync(path.join(LIBRIVOX, 'transcription'), 'utf8').trim().split('\n').map((line) => {
    const [, reference, id] = /^<s> (.*) <\/s> \((.*)\)$/.exec(line.trim())!
    return { file: path.join(LIBRIVOX, `${id!}.wav`), reference: reference! }
  })
}
const median = (samples: number[]) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)]!
const audioSec = (file: string) => runProcess('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], { signal: never, timeoutMs: 10_000, pkg: 'ffmpeg' }).then((r) => Number(r.stdout))

/** Section: characters per second of translateMany over the LibriVox transcripts, direct and through a pivot. */
async function textTranslation (): Promise<void> {
  const translator = createApertiumTranslator()
  const segments = librivox().map((u) => u.reference)
  const characters = segments.reduce((sum, s) => sum + s.length, 0)
  const rows: (string | number)[][] = [['route', 'segments', 'characters', 'ms (median)', 'chars/s']]
  for (const [label, to] of [['en → es (direct)', 'es'], ['en → es → pt (pivot)', 'pt']] as const) {
    const samples: number[] = []
    for (let i = 0; i < ROUNDS; i++) {
      const started = performance.now()
      await translator.translateMany(segments, 'en', to, { signal: never })
      samples.push(performance.now() - started)
    }
    const ms = median(samples)
    rows.push([label, segments.length, characters, ms.toFixed(0), (characters / ms * 1000).toFixed(0)])
  }
  printTable(`bench/speech: text translation of the LibriVox transcripts in one batch (translateMany), ${ROUNDS} rounds; the start-up of each hop is most of it (bench/translate separates them)`, rows)
}

/** Section: the real-time factor of a whole speech-to-speech translation (transcribe, translate, speak, mix) of each utterance. */
async function speechToSpeech (): Promise<void> {
  const engines = createEngines({ whisperBin: '', whisperModel: '' })
  const rows: (string | number)[][] = [['utterance', 'audio s', 'transcribe s', 'translate s', 'speak + mix s', 'total s', 'RTF', 'max speed']]
  let totalAudio = 0
  let totalSec = 0
  for (const utterance of librivox()) {
    const seconds = await audioSec(utterance.file)
    rows.push(await scratch(async (dir) => {
      const marks: Record<string, number> = {}
      const started = performance.now()
      const progress = (_fraction: number, stage: string) => {
        const name = stage.startsWith('transcribing') ? 'transcribe' : stage === 'translating' ? 'translate' : 'speak'
        marks[name] ??= performance.now()
      }
      const { result } = await engines.translateSpeech.run({ path: utterance.file, durationSec: seconds }, { source_lang: 'en', target_lang: 'es', engine: 'pocketsphinx', speak: true }, { progress, signal: never, workDir: dir, parallelism: CORES })
      const ended = performance.now()
      const at = (name: string, fallback: number) => marks[name] ?? fallback
      const elapsed = (ended - started) / 1000
      totalAudio += seconds
      totalSec += elapsed
      return [path.basename(utterance.file, '.wav').slice(-4), seconds.toFixed(2), ((at('translate', ended) - started) / 1000).toFixed(2), ((at('speak', ended) - at('translate', ended)) / 1000).toFixed(2), ((ended - at('speak', ended)) / 1000).toFixed(2), elapsed.toFixed(2), (elapsed / seconds).toFixed(2), result.speech?.maxSpeed ?? '']
    }))
  }
  rows.push(['all five', totalAudio.toFixed(2), '', '', '', totalSec.toFixed(2), (totalSec / totalAudio).toFixed(2), ''])
  printTable(`bench/speech: speech-to-speech translation en → es (pocketsphinx, Apertium, espeak-ng), each utterance a job; ${CORES} cores`, rows)
}

/** Section: how much speed-up speech stands, for the timeline's cap: pocketsphinx's WER on the utterances through atempo. */
async function speedCap (): Promise<void> {
  const utterances = librivox()
  const reference = utterances.map((u) => u.reference).join(' ')
  const rows: (string | number)[][] = [['speed', 'WER']]
  for (const speed of [1, 1.5, 2, 2.5, 3]) {
    const texts = await scratch(async (dir) => {
      const out: string[] = []
      for (const [i, utterance] of utterances.entries()) {
        const fast = path.join(dir, `${i}.wav`)
        const chain = atempoChain(speed)
        await runProcess('ffmpeg', ['-v', 'error', '-i', utterance.file, ...(chain.length ? ['-af', chain.join(',')] : []), '-y', fast], { signal: never, timeoutMs: 60_000, pkg: 'ffmpeg' })
        const work = path.join(dir, `w${i}`)
        fs.mkdirSync(work)
        const { result } = await recogniser.run({ path: fast, durationSec: 10 }, { language: 'en' }, { progress: () => {}, signal: never, workDir: work, parallelism: 1 })
        out.push(result.text)
      }
      return out
    })
    rows.push([speed, `${(wordErrorRate(reference, texts.join(' ')).wer * 100).toFixed(1)}%`])
  }
  printTable('bench/speech: the LibriVox utterances sped up by atempo, transcribed by pocketsphinx (the speech timeline caps at 2×)', rows)
}

if (SECTIONS.has('voices')) {
  const all = await synthesiser.voices()
  const wanted = values.voices?.split(',')
  const english = all.filter((v) => wanted ? wanted.includes(v.id) : v.language.startsWith('en') && (v.engine !== 'espeak-ng' || v.id === 'espeak:en-us'))
  if (english.length === 0) throw new Error('no English voice is installed (festival festvox-us-slt-hts, flite or espeak-ng)')
  await intelligibility(english)
  if (values['speed-methods']) await speedMethods(english[0]!.id)
}
if (SECTIONS.has('translation')) await textTranslation()
if (SECTIONS.has('s2s')) await speechToSpeech()
if (SECTIONS.has('speed-cap')) await speedCap()
