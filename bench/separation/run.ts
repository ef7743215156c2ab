// bench/separation: quality, speed and memory of stem separation.
//   - Quality: a synthetic multitrack set built here (testset.ts: FluidSynth drums, bass and
//     chords, an espeak-ng or flite voice panned centre; 20–30 s, 44.1 kHz stereo), separated
//     by Tympan's `separate` engine, by a plain HPSS baseline and a plain REPET-SIM baseline,
//     and "the mixture itself" as the floor; per-stem SDR by BSS Eval v4 as museval computes
//     it (median over 1-s frames per track, then median over tracks), for 4 and for 2 stems.
//     Requirement: Tympan ahead of both baselines on every stem.
//   - Speed and memory: real-time factor with every core and the peak RSS of the process that
//     runs the engine, on a 10-minute stereo track looped from the mixtures. Requirement
//     RTF ≤ 0.25 (aim ≤ 0.1), RSS ≤ 300 MiB.
// Usage: node bench/separation/run.ts [--quick] [--mixtures N] [--minutes N] [--no-quality] [--no-speed]
//   [--all-metrics] [--out FILE.md] [--pictures DIR] [--cache DIR]
// --quick: 2 mixtures and a 1-minute speed track. --all-metrics: SIR, SAR and ISR too (the
// 512-tap filters: about a minute of CPU per track).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { runProcess } from '../../src/engines/process.ts'
import { spectrogramPlan } from '../../src/engines/analyze/ffmpeg-args.ts'
import { createBssEval, trackScore, type BssEvalScores } from '../lib/bss-eval.ts'
import { median } from '../lib/server.ts'
import { REFERENCE_STEMS, type ReferenceStem } from './compose.ts'
import { METHODS, STEMS, type Estimates, type StemCount, type StemName } from './methods.ts'
import { SAMPLE_RATE, TESTSET_VERSION, cacheDir, loadStems, soundfont, testSet, type Mixture } from './testset.ts'
import { pcm16WavWriter, readWav, writeFloatWav, type Audio } from './wav.ts'

const { values } = parseArgs({
  allowNegative: true,
  options: {
    quick: { type: 'boolean', default: false },
    mixtures: { type: 'string' },
    minutes: { type: 'string' },
    quality: { type: 'boolean', default: true },
    speed: { type: 'boolean', default: true },
    'all-metrics': { type: 'boolean', default: false },
    out: { type: 'string' },
    pictures: { type: 'string' },
    cache: { type: 'string' }
  }
})
const COUNT = Number(values.mixtures ?? (values.quick ? 2 : 5))
const MINUTES = Number(values.minutes ?? (values.quick ? 1 : 10))
const METRICS = values['all-metrics'] ? 'all' : 'sdr'
const CORES = os.availableParallelism()
const RTF_LIMIT = 0.25
const RSS_LIMIT_MIB = 300
const log = (line: string) => { process.stderr.write(`${line}\n`) }
const signal = new AbortController().signal

const mixtures = await testSet({ count: COUNT, log, ...(values.cache ? { cacheRoot: values.cache } : {}) })

/** The references of a scenario: the four stems, or the voice against the sum of the rest. */
function references (stems: Record<ReferenceStem, Audio>, count: StemCount): Float32Array[][] {
  if (count === 4) return REFERENCE_STEMS.map((s) => stems[s].channels)
  const accompaniment = stems.drums.channels.map((c, ch) => Float32Array.from(c, (v, n) => v + stems.bass.channels[ch]![n]! + stems.other.channels[ch]![n]!))
  return [stems.vocals.channels, accompaniment]
}

/** museval's pad_or_truncate: an estimate is cut or zero-padded to the reference's length. */
const fit = (channels: Float32Array[], length: number) => channels.map((c) => {
  if (c.length === length) return c
  const out = new Float32Array(length)
  out.set(c.subarray(0, length))
  return out
})

type Metric = 'sdr' | 'sir' | 'sar' | 'isr'
// method → stems → stem → metric → per-track score
type Scores = Map<string, Map<StemCount, Map<StemName, Record<Metric, number[]>>>>

/** Every method on every mixture, 4 and 2 stems: per-track scores, and Tympan's stems of the first mixture. */
async function measureQuality () {
  const scores: Scores = new Map()
  const notes = new Set<string>()
  let firstEstimates: Estimates | undefined
  for (const mixture of mixtures) {
    const stems = loadStems(mixture)
    const audio = readWav(mixture.mixturePath)
    for (const count of [4, 2] as const) {
      const refs = references(stems, count)
      const evaluator = createBssEval(refs, { metrics: METRICS })
      for (const method of METHODS) {
        log(`${mixture.name}: ${count} stems, ${method.label}`)
        const estimates = await method.run(mixture, audio, count)
        if (count === 4 && method === METHODS[0] && mixture === mixtures[0]) firstEstimates = estimates
        const names = STEMS[count]
        const missing = names.filter((s) => !estimates[s])
        if (missing.length) throw new Error(`${method.label} gave no ${missing.join(', ')}`)
        let result: BssEvalScores | undefined
        try {
          result = evaluator.evaluate(names.map((s) => fit(estimates[s]!, refs[0]![0]!.length)))
        } catch (error) {
          // museval refuses an estimate that is silent throughout; the row says so instead of stopping.
          notes.add(`${method.label}, ${mixture.name}, ${count} stems: ${(error as Error).message}`)
        }
        const byStem = scores.get(method.label) ?? new Map()
        scores.set(method.label, byStem)
        const table = byStem.get(count) ?? new Map()
        byStem.set(count, table)
        names.forEach((stem, j) => {
          const entry = table.get(stem) ?? { sdr: [], sir: [], sar: [], isr: [] }
          table.set(stem, entry)
          for (const metric of ['sdr', 'sir', 'sar', 'isr'] as const) entry[metric].push(result?.[metric] ? trackScore(result[metric][j]!) : NaN)
        })
      }
    }
  }
  return { scores, notes, firstEstimates }
}

const dB = (v: number) => Number.isFinite(v) ? v.toFixed(2) : '–'
const table = (rows: string[][]) => [
  `| ${rows[0]!.join(' | ')} |`,
  `|${rows[0]!.map((_, i) => i === 0 ? '---' : '---:').join('|')}|`,
  ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`)
].join('\n')
const nanMedian = (xs: number[]) => {
  const finite = xs.filter(Number.isFinite)
  return finite.length ? median(finite) : NaN
}

const lines: string[] = []
const out = (line = '') => { lines.push(line) }

function qualityReport ({ scores, notes }: Awaited<ReturnType<typeof measureQuality>>) {
  const perStem = (label: string, count: StemCount, metric: Metric) => STEMS[count].map((s) => nanMedian(scores.get(label)!.get(count)!.get(s)![metric]))
  out()
  out('SDR in dB, BSS Eval v4 as museval computes it (1-s frames, median over frames, then median over tracks); higher is better.')
  const failures: string[] = []
  for (const count of [4, 2] as const) {
    out()
    out(`## ${count} stems: SDR`)
    out()
    const rows = [['method', ...STEMS[count], 'mean']]
    for (const method of METHODS) {
      const values = perStem(method.label, count, 'sdr')
      rows.push([method.label, ...values.map(dB), dB(values.reduce((a, b) => a + b, 0) / values.length)])
    }
    out(table(rows))
    const tympan = perStem(METHODS[0]!.label, count, 'sdr')
    STEMS[count].forEach((stem, j) => {
      const best = Math.max(perStem('HPSS baseline', count, 'sdr')[j]!, perStem('REPET-SIM baseline', count, 'sdr')[j]!)
      if (!(tympan[j]! > best)) failures.push(`${count}-stem ${stem} (Tympan ${dB(tympan[j]!)} dB, best baseline ${dB(best)} dB)`)
    })
    if (METRICS === 'all') {
      for (const metric of ['sir', 'sar', 'isr'] as const) {
        out()
        out(`${metric.toUpperCase()} (${count} stems):`)
        out()
        out(table([['method', ...STEMS[count]], ...METHODS.map((m) => [m.label, ...perStem(m.label, count, metric).map(dB)])]))
      }
    }
  }
  out()
  out(failures.length
    ? `**Requirement not met**: Tympan is not ahead of both baselines on ${failures.join('; ')}.`
    : '**Requirement met**: Tympan is ahead of both baselines on every stem, for 4 and for 2 stems.')
  for (const note of notes) out(`\nNote: ${note}`)

  out()
  out('## Per track, 4 stems: SDR (Tympan / HPSS / REPET-SIM / mixture)')
  out()
  out(table([['mixture', ...STEMS[4]], ...mixtures.map((m, t) => [m.name, ...STEMS[4].map((s) => METHODS.map((method) => dB(scores.get(method.label)!.get(4)!.get(s)!.sdr[t]!)).join(' / '))])]))
}

function testSetReport () {
  out()
  out('## The test set')
  out()
  out(table([['mixture', 'length s', 'tempo', 'key', 'voice', 'bass / comp / pad (GM program, 1-based)', 'levels dB (voc, drums, bass, other)'],
    ...mixtures.map((m) => {
      const { song } = m
      return [m.name, song.durationSec.toFixed(1), String(song.tempo), song.key, `${song.vocal.engine} ${song.vocal.voice}`,
        `${song.programs.bass + 1} / ${song.programs.comp + 1} / ${song.programs.pad + 1}`, REFERENCE_STEMS.map((s) => song.gainsDb[s]).join(', ')]
    })]))
  out()
  out('Each stem is rendered on its own (drums on MIDI channel 10, bass GM 33–39 centred, a comping part panned left and a pad panned right through FluidSynth; the voice with espeak-ng singing one pitch per word, or flite speech, panned centre), levelled, and summed into the mixture.')
}

async function speedReport () {
  const audioSec = MINUTES * 60
  const long = longTrack(mixtures, audioSec)
  log(`speed: ${MINUTES} min track, ${CORES} cores`)
  const { stdout } = await runProcess(process.execPath, [path.join(import.meta.dirname, 'speed.ts'), long, String(audioSec), '4'], { signal, timeoutMs: audioSec * 1000 * 2, pkg: 'nodejs' })
  const speed = JSON.parse(stdout.trim().split('\n').at(-1)!) as { seconds: number, peakRss: number, idleRss: number, cpuSeconds: number, loadAverage: number }
  const rtf = speed.seconds / audioSec
  const cpuRtf = speed.cpuSeconds / (CORES * audioSec)
  const mib = speed.peakRss / 2 ** 20
  out()
  out(`## Speed and memory: \`separate\` (4 stems, wav) on a ${MINUTES}-minute stereo 44.1 kHz track, ${CORES} cores`)
  out()
  out(table([['time s', 'RTF', 'CPU s (engine + its ffmpeg)', 'CPU s / (cores × audio s)', 'peak RSS MiB', 'of which Node at start MiB', 'load average'],
    [speed.seconds.toFixed(1), rtf.toFixed(3), speed.cpuSeconds.toFixed(1), cpuRtf.toFixed(3), mib.toFixed(0), (speed.idleRss / 2 ** 20).toFixed(0), speed.loadAverage.toFixed(1)]]))
  out()
  out(`RTF ${rtf <= RTF_LIMIT ? '≤' : '>'} ${RTF_LIMIT} (requirement; aim ≤ 0.1), peak RSS ${mib <= RSS_LIMIT_MIB ? '≤' : '>'} ${RSS_LIMIT_MIB} MiB: ${rtf <= RTF_LIMIT && mib <= RSS_LIMIT_MIB ? '**met**' : '**not met**'}. The RSS is the peak (VmHWM) of the process that runs the engine, worker threads included; the ffmpeg processes it starts are not in it.`)
  if (speed.loadAverage > CORES) out(`The machine was busy (load average ${speed.loadAverage.toFixed(1)} on ${CORES} cores), so the wall-clock RTF overstates; the CPU time over cores × audio, ${cpuRtf.toFixed(3)}, is the best idle cores could do.`)
}

out(`# bench/separation (test set ${TESTSET_VERSION}, ${mixtures.length} mixtures, ${path.basename(soundfont())})`)
out()
out(`Command: \`node bench/separation/run.ts ${process.argv.slice(2).join(' ')}\`.`)
const quality = values.quality ? await measureQuality() : undefined
if (quality) qualityReport(quality)
testSetReport()
if (values.speed) await speedReport()
out()
out('## Context: published results on MUSDB18 (not this set)')
out()
out('REPET-SIM: vocals 2.3 dB, accompaniment 7.4 dB (SiSEC 2018); Open-Unmix: 5.3 dB mean SDR over the four stems; Demucs v4 (Hybrid Transformer): 9.0 dB mean.')
out()
out('This synthetic set is **not MUSDB18**: General MIDI instruments, a synthetic voice, no mastering, every stem repeating bar after bar. The numbers above compare methods with each other on the same mixtures; they are not comparable with the published MUSDB18 figures.')

const markdown = `${lines.join('\n')}\n`
process.stdout.write(markdown)
if (values.out) fs.writeFileSync(values.out, markdown)
if (values.pictures && quality?.firstEstimates) await pictures(values.pictures, mixtures[0]!, quality.firstEstimates)

/** The mixtures looped to `seconds`, as 16-bit PCM (an upload), cached beside the set. */
function longTrack (set: Mixture[], seconds: number): string {
  const file = path.join(cacheDir(values.cache), `long-${set.length}x-${seconds}s.wav`)
  if (fs.existsSync(file)) return file
  const frames = seconds * SAMPLE_RATE
  const partial = `${file}.partial`
  const writer = pcm16WavWriter(partial, 2, SAMPLE_RATE, frames)
  let written = 0
  for (let i = 0; written < frames; i++) {
    const { channels } = readWav(set[i % set.length]!.mixturePath)
    const take = Math.min(channels[0]!.length, frames - written)
    writer.write(channels.map((c) => c.subarray(0, take)))
    written += take
  }
  writer.close()
  fs.renameSync(partial, file)
  return file
}

/** Spectrograms of the first mixture, its reference stems and Tympan's estimates, to look at. */
async function pictures (dir: string, mixture: Mixture, estimates: Estimates) {
  fs.mkdirSync(dir, { recursive: true })
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-bench-separation-pictures-'))
  try {
    const files: Array<[string, string]> = [['mixture', mixture.mixturePath], ...REFERENCE_STEMS.map((s) => [`reference-${s}`, mixture.stemPaths[s]] as [string, string])]
    for (const stem of STEMS[4]) {
      const file = path.join(scratch, `${stem}.wav`)
      writeFloatWav(file, { sampleRate: SAMPLE_RATE, channels: estimates[stem]! })
      files.push([`tympan-${stem}`, file])
    }
    for (const [name, file] of files) {
      const frames = readWav(file).channels[0]!.length
      await runProcess('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', file, '-lavfi', spectrogramPlan(frames, SAMPLE_RATE).filter, '-frames:v', '1', '-update', '1', path.join(dir, `${mixture.name}-${name}.png`)], { signal, timeoutMs: 60_000, pkg: 'ffmpeg' })
    }
    log(`spectrograms in ${dir}`)
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true })
  }
}
