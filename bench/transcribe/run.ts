// bench/transcribe: real-time factor (processing time / audio time) of the pocketsphinx engine
// on a ~5-minute recording of real read speech (the five LibriVox test utterances, repeated),
// beside a baseline measured in the same run: what a naive server does, one
// `pocketsphinx_continuous -infile` process over the whole file with the same model.
//   - the engine at each quality (fast, accurate) with every core (os.availableParallelism()),
//     and the default quality with parallelism 1;
//   - the ratio of each time to the baseline's (lower is faster);
//   - the word error rate of each against the references, so speed is not bought with accuracy;
//   - once, end to end through a `tympan serve` process: upload, job, queue, engine, done event.
// Targets (issue 15): RTF <= 0.12 with both cores of a 2-core machine at WER <= 0.30, aim 0.08.
// Tuning the search: bench/transcribe/sweep.ts.
// Usage: node bench/transcribe/run.ts [--rounds N] [--minutes N] [--no-e2e]
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs, promisify } from 'node:util'
import { remoteJob } from '../../src/cli/remote-job.ts'
import { decodeArgs } from '../../src/engines/transcribe/decode.ts'
import { DEFAULT_QUALITY, TRANSCRIBE_QUALITIES, transcribeEngines, type Transcript, type TranscribeQuality } from '../../src/engines/transcribe/index.ts'
import { POCKETSPHINX_MODEL_ROOT, findModels } from '../../src/engines/transcribe/pocketsphinx.models.ts'
import { wordErrorRate } from '../../src/engines/transcribe/wer.ts'
import { librivoxMissing, librivoxRecording } from '../../test/helpers/librivox.ts'
import { median, printTable, startServer } from '../lib/server.ts'

const { values } = parseArgs({
  allowNegative: true,
  options: { rounds: { type: 'string', default: '2' }, minutes: { type: 'string', default: '5' }, e2e: { type: 'boolean', default: true } }
})
const ROUNDS = Number(values.rounds)
const CORES = os.availableParallelism()
const run = promisify(execFile)

const missing = librivoxMissing()
if (missing) throw new Error(missing)
const { file, references } = librivoxRecording(Number(values.minutes) * 60)
const reference = references.join(' ')
const audioSec = Number((await run('soxi', ['-D', file])).stdout)
const model = (await findModels(POCKETSPHINX_MODEL_ROOT)).find((m) => m.language === 'en')
if (!model) throw new Error('the pocketsphinx-en-us model is not installed')
const engine = transcribeEngines({}).pocketsphinx

interface Measured { seconds: number, text: string }

async function timed (work: (scratch: string) => Promise<string>): Promise<Measured> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-bench-transcribe-'))
  try {
    const started = performance.now()
    const text = await work(scratch)
    return { seconds: (performance.now() - started) / 1000, text }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true })
  }
}

// The baseline decodes to a 16 kHz WAV first, as the engine does: both start from the same
// upload. pocketsphinx_continuous prints one hypothesis line per utterance its VAD found.
const baseline = () => timed(async (scratch) => {
  const wav = path.join(scratch, 'audio.wav')
  await run('ffmpeg', decodeArgs(file, wav, 'wav'))
  const { stdout } = await run('pocketsphinx_continuous', ['-infile', wav, '-hmm', model.hmm, '-lm', model.lm, '-dict', model.dict, '-logfn', '/dev/null'], { maxBuffer: 1 << 24 })
  return stdout.split('\n').join(' ')
})

const viaEngine = (parallelism: number, quality: TranscribeQuality) => timed(async (workDir) => {
  const context = { progress: () => {}, signal: new AbortController().signal, workDir, parallelism }
  const { result } = await engine.run({ path: file, durationSec: audioSec }, { quality }, context)
  return result.text
})

// The job system once, through the HTTP API as a client sees it (the CLI's --server client).
async function endToEnd (): Promise<Measured> {
  const admin = { email: 'bench@example.test', password: 'bench admin passphrase 2026' }
  const server = await startServer({ TYMPAN_ADMIN_EMAIL: admin.email, TYMPAN_ADMIN_PASSWORD: admin.password })
  try {
    const login = await fetch(`${server.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(admin) })
    if (!login.ok) throw new Error(`login failed: ${login.status} ${await login.text()}`)
    const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
    const { csrfToken } = await login.json() as { csrfToken: string }
    const created = await fetch(`${server.url}/api/v1/keys`, {
      method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken }, body: JSON.stringify({ name: 'bench', scopes: ['files:read', 'files:write', 'jobs:read', 'jobs:write'] })
    })
    const { key } = await created.json() as { key: string }
    return await timed(async () => {
      const job = await remoteJob(server.url, key).run('transcribe', file, {}, { update: () => {}, done: () => {} })
      return (job.result as Transcript).text
    })
  } finally {
    await server.stop()
  }
}

// Round-robin, so drift in machine load reaches every configuration alike.
const settings = [
  ...TRANSCRIBE_QUALITIES.map((quality) => ({ parallelism: CORES, quality })),
  ...(CORES > 1 ? [{ parallelism: 1, quality: DEFAULT_QUALITY }] : [])
]
const label = (s: { parallelism: number, quality: TranscribeQuality }) =>
  `engine, quality ${s.quality}${s.quality === DEFAULT_QUALITY ? ' (default)' : ''}, parallelism ${s.parallelism}${s.parallelism === CORES ? ' (all cores)' : ''}`
const base: Measured[] = []
const bySetting = new Map<string, Measured[]>(settings.map((s) => [label(s), []]))
for (let round = 0; round < ROUNDS; round++) {
  base.push(await baseline())
  for (const s of settings) bySetting.get(label(s))!.push(await viaEngine(s.parallelism, s.quality))
}

const baseSec = median(base.map((m) => m.seconds))
const row = (label: string, runs: Measured[]) => {
  const seconds = median(runs.map((m) => m.seconds))
  // pocketsphinx is deterministic: every round gives the same words, so the last one stands for all.
  const errors = wordErrorRate(reference, runs.at(-1)!.text)
  return [label, seconds.toFixed(1), (seconds / audioSec).toFixed(3), (seconds / baseSec).toFixed(2), errors.wer.toFixed(3)]
}
const rows = [
  ['run', 'time s', 'RTF', 'time / baseline', 'WER'],
  row('baseline: one pocketsphinx_continuous', base),
  ...settings.map((s) => row(label(s), bySetting.get(label(s))!))
]
if (values.e2e) rows.push(row(`end to end: HTTP upload → job → done (quality ${DEFAULT_QUALITY}, 1 run, ${CORES} cores)`, [await endToEnd()]))

printTable(`bench/transcribe: ${audioSec.toFixed(1)} s of LibriVox speech, ${references.length} utterances (${wordErrorRate(reference, '').referenceWords} words), median of ${ROUNDS} rounds (target: RTF <= 0.12 on 2 cores at WER <= 0.30, aim 0.08)`, rows)
