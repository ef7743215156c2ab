/**
 * Pure pieces of a pocketsphinx_batch run: its arguments, how segments are shared among the
 * processes, and reading its CTM output.
 */
import type { TranscribeQuality } from './transcript.ts'

export interface PocketsphinxModel {
  /** ISO 639-1, from the model folder's name (`en-us` → `en`). */
  language: string
  name: string
  hmm: string
  lm: string
  dict: string
}

export interface CtmWord {
  word: string
  /** Seconds from the start of the utterance. */
  start: number
  end: number
  confidence: number
}

// The search per quality, chosen with bench/transcribe/sweep.ts on the LibriVox utterances
// (the table is in docs/performance.md). Both leave out the second, flat-lexicon pass
// (`-fwdflat no`): it cost ~15% of the CPU and lost words there; the best-path pass over the
// first pass's lattice still gives the posteriors. `-maxhmmpf 3000` caps the active HMMs a
// frame instead of narrowing the beams, which lost words fast (beam 1e-40: WER 0.35). `fast`
// adds scoring the Gaussians every other frame (`-ds 2`), fewer word exits per frame and a
// longer phone lookahead: ~15% less CPU for a few more errors (WER 0.27 against 0.23).
const SEARCH: Record<TranscribeQuality, string[]> = {
  fast: ['-fwdflat', 'no', '-maxhmmpf', '3000', '-topn', '2', '-ds', '2', '-maxwpf', '5', '-pl_window', '10'],
  accurate: ['-fwdflat', 'no', '-maxhmmpf', '3000', '-topn', '2']
}

export interface BatchFiles {
  model: PocketsphinxModel
  cepdir: string
  ctl: string
  ctm: string
}

/** The arguments of a run at `quality`: the files and front end, then that quality's search. */
export function batchArgs (options: BatchFiles & { quality: TranscribeQuality }): string[] {
  return [...baseArgs(options), ...SEARCH[options.quality]]
}

/**
 * Everything but the search settings, which stay pocketsphinx's own (bench/transcribe/sweep.ts
 * starts from here). `-ctm` is the one output of this version that carries both word times and
 * a confidence: the word's posterior probability in the lattice of the best-path pass
 * (`-bestpath yes`).
 */
export function baseArgs (options: BatchFiles): string[] {
  return [
    '-hmm', options.model.hmm, '-lm', options.model.lm, '-dict', options.model.dict,
    '-adcin', 'yes', '-samprate', '16000', '-cepdir', options.cepdir, '-cepext', '.raw',
    '-ctl', options.ctl, '-ctm', options.ctm,
    '-bestpath', 'yes',
    // The front end's own voice activity detection drops silent frames before the search, which
    // shifts every later word time by the silence removed (measured: 3 s of leading silence moved
    // words 2.87 s early). Segments are already cut at silence, so it is off.
    '-remove_silence', 'no'
  ]
}

/**
 * Contiguous runs of segments, balanced by length, one per process: live cepstral mean
 * normalisation carries over from one utterance to the next within a process, so neighbours
 * decode better together. Returns segment indices; never an empty batch.
 */
export function planBatches (lengths: number[], processes: number): number[][] {
  const total = lengths.reduce((a, b) => a + b, 0)
  const count = Math.max(1, Math.floor(processes))
  const batches: number[][] = Array.from({ length: count }, () => [])
  let before = 0
  lengths.forEach((length, i) => {
    const k = total > 0 ? Math.min(count - 1, Math.floor((count * (before + length / 2)) / total)) : 0
    batches[k]?.push(i)
    before += length
  })
  return batches.filter((b) => b.length > 0)
}

// Silence, breath and noise models (<sil>, [NOISE], ++UH++) and sentence markers are not words.
const FILLER = /^(<.*>|\[.*\]|\+\+.*\+\+)$/

/** CTM lines (`utterance channel start duration word confidence`) grouped by utterance. */
export function parseCtm (text: string): Map<string, CtmWord[]> {
  const byUtterance = new Map<string, CtmWord[]>()
  for (const line of text.split('\n')) {
    const [utterance, , start, duration, rawWord, confidence] = line.trim().split(/\s+/)
    if (!utterance || !rawWord || start === undefined || duration === undefined) continue
    // Alternative pronunciations are numbered in the dictionary: "been(2)".
    const word = rawWord.replace(/\(\d+\)$/, '')
    if (FILLER.test(word)) continue
    const from = Number(start)
    const length = Number(duration)
    if (!Number.isFinite(from) || !Number.isFinite(length)) continue
    const p = Number(confidence)
    const words = byUtterance.get(utterance) ?? []
    words.push({ word, start: from, end: from + length, confidence: Number.isFinite(p) ? Math.min(1, Math.max(0, p)) : 0 })
    byUtterance.set(utterance, words)
  }
  return byUtterance
}

/** The utterance named by the log line pocketsphinx_batch writes when it has decoded one. */
export function finishedUtterance (logLine: string): string | undefined {
  return /batch\.c\(\d+\): (\S+): [\d.]+ xRT/.exec(logLine)?.[1]
}
