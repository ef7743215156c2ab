// bench/transcribe/sweep.ts: tunes pocketsphinx's search for speed at bounded WER. The LibriVox
// recording of bench/transcribe/run.ts is cut into segments the way the engine cuts it, then
// every setting decodes the same segments with one pocketsphinx_batch per core (planBatches).
// Speed is the CPU time of the recognisers (user + system of the waited-for children, from
// /proc/self/stat) per second of audio, the least of the rounds: wall-clock time on a shared
// machine says little, and CPU time still grows with the load (shared caches), so the search's
// own counts (senones scored, HMM channels searched, from its log) sit beside it as a measure of
// work that does not move at all. On idle cores that are all busy with segments the real-time
// factor is about CPU s / (audio s × cores), printed as "est. RTF".
// The WER beside each is exact for the run; a setting whose rounds differ shows the range.
// Not part of the test suite; the numbers in docs/performance.md come from it.
// Usage: node bench/transcribe/sweep.ts [--minutes N] [--processes N] [--rounds N] [--only name,name]
//        [--max-sec N] (segment length limit, the engine's 30 s by default)
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs, promisify } from 'node:util'
import { splitLevels } from '../../src/dsp/silence-split.ts'
import { SAMPLE_RATE, copyPcmRange, decodeAudio, measurePcm } from '../../src/engines/transcribe/decode.ts'
import { baseArgs, batchArgs, parseCtm, planBatches } from '../../src/engines/transcribe/pocketsphinx.batch.ts'
import type { PocketsphinxModel } from '../../src/engines/transcribe/pocketsphinx.batch.ts'
import { TRANSCRIBE_QUALITIES, type TranscribeQuality } from '../../src/engines/transcribe/transcript.ts'
import { POCKETSPHINX_MODEL_ROOT, findModels } from '../../src/engines/transcribe/pocketsphinx.models.ts'
import { wordErrorRate } from '../../src/engines/transcribe/wer.ts'
import { librivoxMissing, librivoxRecording } from '../../test/helpers/librivox.ts'
import { printTable } from '../lib/server.ts'

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '2' },
    processes: { type: 'string', default: String(os.availableParallelism()) },
    rounds: { type: 'string', default: '1' },
    only: { type: 'string' },
    'max-sec': { type: 'string', default: '30' }
  }
})
const PROCESSES = Number(values.processes)
const ROUNDS = Number(values.rounds)
const run = promisify(execFile)

interface Setting {
  name: string
  /** A quality the engine offers, or search flags on top of pocketsphinx's own settings. */
  quality?: TranscribeQuality
  flags?: Record<string, string>
}

// What was tried, from the pocketsphinx tuning advice (CMU Sphinx wiki, "Decoder tuning") and
// from each measurement before it: one flag at a time against pocketsphinx's defaults, then
// the combinations of those that cost little accuracy. The engine's qualities come first.
const SETTINGS: Setting[] = [
  ...TRANSCRIBE_QUALITIES.map((quality) => ({ name: quality, quality })),
  { name: 'defaults', flags: {} },
  { name: 'no fwdflat', flags: { '-fwdflat': 'no' } },
  { name: 'ds 2', flags: { '-ds': '2' } },
  { name: 'topn 2', flags: { '-topn': '2' } },
  { name: 'maxhmmpf 3000', flags: { '-maxhmmpf': '3000' } },
  { name: 'maxhmmpf 10000', flags: { '-maxhmmpf': '10000' } },
  { name: 'maxwpf 5', flags: { '-maxwpf': '5' } },
  { name: 'maxwpf 20', flags: { '-maxwpf': '20' } },
  { name: 'pl_window 10', flags: { '-pl_window': '10' } },
  { name: 'pl_window 0', flags: { '-pl_window': '0' } },
  { name: 'beam 1e-40', flags: { '-beam': '1e-40', '-pbeam': '1e-40' } },
  { name: 'beam 1e-30', flags: { '-beam': '1e-30', '-pbeam': '1e-30' } },
  { name: 'beam 1e-20', flags: { '-beam': '1e-20', '-pbeam': '1e-20' } },
  { name: 'wbeam 1e-20', flags: { '-wbeam': '1e-20', '-lponlybeam': '1e-20' } },
  { name: 'lpbeam 1e-30', flags: { '-lpbeam': '1e-30' } },
  { name: 'wiki fast', flags: { '-ds': '2', '-topn': '2', '-maxhmmpf': '3000', '-maxwpf': '5', '-pl_window': '10', '-fwdflat': 'no' } },
  { name: 'nf+hmm3000', flags: { '-fwdflat': 'no', '-maxhmmpf': '3000' } },
  { name: 'nf+hmm2000', flags: { '-fwdflat': 'no', '-maxhmmpf': '2000' } },
  { name: 'nf+hmm3000+ds2', flags: { '-fwdflat': 'no', '-maxhmmpf': '3000', '-ds': '2' } },
  { name: 'nf+hmm3000+topn2', flags: { '-fwdflat': 'no', '-maxhmmpf': '3000', '-topn': '2' } },
  { name: 'wiki fast+fwdflat', flags: { '-ds': '2', '-topn': '2', '-maxhmmpf': '3000', '-maxwpf': '5', '-pl_window': '10' } },
  { name: 'wiki fast hmm2000', flags: { '-ds': '2', '-topn': '2', '-maxhmmpf': '2000', '-maxwpf': '5', '-pl_window': '10', '-fwdflat': 'no' } },
  { name: 'wiki fast ds3', flags: { '-ds': '3', '-topn': '2', '-maxhmmpf': '3000', '-maxwpf': '5', '-pl_window': '10', '-fwdflat': 'no' } }
]

const missing = librivoxMissing()
if (missing) throw new Error(missing)
const model = (await findModels(POCKETSPHINX_MODEL_ROOT)).find((m) => m.language === 'en')
if (!model) throw new Error('the pocketsphinx-en-us model is not installed')
const { file, references } = librivoxRecording(Number(values.minutes) * 60)
const reference = references.join(' ')
const only = values.only?.split(',').map((s) => s.trim())
const chosen = only ? SETTINGS.filter((s) => only.includes(s.name)) : SETTINGS
if (only && chosen.length !== only.length) throw new Error(`unknown setting in --only; known: ${SETTINGS.map((s) => s.name).join(', ')}`)

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-bench-sweep-'))
process.once('exit', () => fs.rmSync(scratch, { recursive: true, force: true }))
// A stopped sweep takes its recognisers with it (execFile kills a child when its signal aborts).
const stopping = new AbortController()
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { stopping.abort(); setTimeout(() => process.exit(130), 100) })
}

// The engine's own preparation: 16 kHz PCM, cut at silences, one raw file per segment.
const uttId = (i: number) => `s${String(i).padStart(5, '0')}`
const pcm = path.join(scratch, 'audio.raw')
await decodeAudio(file, pcm, 's16le', { signal: new AbortController().signal, durationSec: 3600 })
const measured = await measurePcm(pcm)
const audioSec = measured.samples / SAMPLE_RATE
const ranges = splitLevels(measured.levels, measured.samples, { sampleRate: SAMPLE_RATE, maxSec: Number(values['max-sec']) })
const segmentDir = path.join(scratch, 'segments')
fs.mkdirSync(segmentDir)
for (const [i, range] of ranges.entries()) await copyPcmRange(pcm, range, path.join(segmentDir, `${uttId(i)}.raw`))
const lengths = ranges.map((r) => r.end - r.start)
const batches = planBatches(lengths, PROCESSES)

/** CPU seconds of this process's waited-for children (cutime + cstime, clock ticks of 10 ms). */
function childrenCpuSec (): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[13]) + Number(fields[14])) / 100
}

/** The engine's arguments with some flags set otherwise: pocketsphinx refuses a flag given twice. */
function withFlags (args: string[], flags: Record<string, string>): string[] {
  const out = [...args]
  for (const [flag, value] of Object.entries(flags)) {
    const at = out.indexOf(flag)
    if (at >= 0) out[at + 1] = value
    else out.push(flag, value)
  }
  return out
}

function argsFor (setting: Setting, m: PocketsphinxModel, ctl: string, ctm: string): string[] {
  const files = { model: m, cepdir: segmentDir, ctl, ctm }
  return setting.quality ? batchArgs({ ...files, quality: setting.quality }) : withFlags(baseArgs(files), setting.flags ?? {})
}

interface Work { senones: number, channels: number }

/**
 * The search's own counts from its log, summed over both passes: Gaussian mixtures scored
 * (senones) and HMM channels searched. Unlike CPU time they do not move with the machine's load.
 */
function searchWork (log: string): Work {
  const sum = (what: RegExp) => [...log.matchAll(what)].reduce((total, m) => total + Number(m[1]), 0)
  return { senones: sum(/ngram_search_fw\w+\.c\(\d+\):\s+(\d+) senones evaluated/g), channels: sum(/ngram_search_fw\w+\.c\(\d+\):\s+(\d+) channels searched/g) }
}

async function decode (setting: Setting): Promise<{ cpuSec: number, text: string, work: Work }> {
  const dir = fs.mkdtempSync(path.join(scratch, 'run-'))
  const before = childrenCpuSec()
  const found = await Promise.all(batches.map(async (batch, b) => {
    const ctl = path.join(dir, `batch-${b}.ctl`)
    const ctm = path.join(dir, `batch-${b}.ctm`)
    fs.writeFileSync(ctl, batch.map((i) => `${uttId(i)}\n`).join(''))
    const log = path.join(dir, `batch-${b}.log`)
    await run('pocketsphinx_batch', [...argsFor(setting, model!, ctl, ctm), '-logfn', log], { signal: stopping.signal })
    return { words: parseCtm(fs.readFileSync(ctm, 'utf8')), work: searchWork(fs.readFileSync(log, 'utf8')) }
  }))
  const cpuSec = childrenCpuSec() - before
  const words = new Map(found.flatMap((f) => [...f.words]))
  const work = { senones: found.reduce((t, f) => t + f.work.senones, 0), channels: found.reduce((t, f) => t + f.work.channels, 0) }
  const text = ranges.map((_, i) => (words.get(uttId(i)) ?? []).map((w) => w.word).join(' ')).join(' ')
  fs.rmSync(dir, { recursive: true, force: true })
  return { cpuSec, text, work }
}

// Round-robin, so drift in machine load reaches every setting alike.
const cpu = new Map<string, number[]>(chosen.map((s) => [s.name, []]))
const wers = new Map<string, number[]>(chosen.map((s) => [s.name, []]))
const works = new Map<string, Work>()
for (let round = 0; round < ROUNDS; round++) {
  for (const setting of chosen) {
    const { cpuSec, text, work } = await decode(setting)
    cpu.get(setting.name)!.push(cpuSec)
    wers.get(setting.name)!.push(wordErrorRate(reference, text).wer)
    works.set(setting.name, work)
    process.stderr.write(`round ${round + 1}: ${setting.name}: ${(cpuSec / audioSec).toFixed(3)} CPU s / audio s, ${Math.round(work.senones / (audioSec * 100))} senones / frame, WER ${wordErrorRate(reference, text).wer.toFixed(3)}\n`)
  }
}

const describe = (s: Setting) => [s.quality ? `quality ${s.quality}` : '', ...Object.entries(s.flags ?? {}).map(([k, v]) => `${k} ${v}`)].filter(Boolean).join(' ') || 'pocketsphinx defaults'
// The least of the rounds: other work on the machine only ever adds CPU time (shared caches).
const least = (name: string) => Math.min(...cpu.get(name)!)
const firstSec = least(chosen[0]!.name)
const frames = audioSec * 100
const rows = [['setting', 'arguments', 'CPU s / audio s', `est. RTF on ${PROCESSES} cores`, `CPU / ${chosen[0]!.name}`, 'senones / frame', 'channels / frame', 'WER']]
for (const setting of chosen) {
  const sec = least(setting.name)
  // Each round's WER; a range if they differ (they have not within one run, but have between runs).
  const errors = [...new Set(wers.get(setting.name)!.map((w) => w.toFixed(3)))].sort().join('–')
  const work = works.get(setting.name)!
  rows.push([setting.name, describe(setting), (sec / audioSec).toFixed(3), (sec / audioSec / PROCESSES).toFixed(3), (sec / firstSec).toFixed(2), String(Math.round(work.senones / frames)), String(Math.round(work.channels / frames)), errors])
}
const cpus = (await run('nproc', [])).stdout.trim()
printTable(`bench/transcribe/sweep: ${audioSec.toFixed(1)} s of LibriVox speech in ${ranges.length} segments (max ${values['max-sec']} s), ${references.length} utterances (${wordErrorRate(reference, '').referenceWords} words), ${batches.length} processes on ${cpus} CPUs, least CPU of ${ROUNDS} round(s); CPU includes loading the model once per process`, rows)
