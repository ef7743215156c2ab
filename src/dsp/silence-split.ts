/**
 * Cuts long speech into pieces a recogniser can take (pocketsphinx decodes one utterance at a
 * time, whisper works in 30 s windows), at silences: a cut inside a word costs that word.
 */

export interface SplitOptions {
  sampleRate?: number
  /** No segment is longer, padding included. */
  maxSec?: number
  /** The shortest silence that counts as a pause worth cutting at. */
  minPauseSec?: number
  /** Pauses at least this long always cut: no reason to feed a recogniser seconds of silence. */
  breakPauseSec?: number
  /** Silence kept on each side of a segment: recognisers model the silence around speech. */
  padSec?: number
  /** Segments with less sound than this are clicks or breaths, not speech. */
  minSoundSec?: number
}

/** Sample offsets into the input, `end` exclusive. */
export interface SampleRange {
  start: number
  end: number
}

const FRAME_SEC = 0.01
// Signal frames sit well above the noise floor and not far below the loud part; these margins
// keep room noise (-70 dBFS in a quiet recording) silent and weak fricatives (-45 dBFS) sound.
const ABOVE_FLOOR_DB = 10
const BELOW_PEAK_DB = 40
const AUDIBLE_DB = -50
// How strongly depth beats length when two pauses compete: 20 dB deeper counts like twice as long.
const DEPTH_WEIGHT_DB = 20
// A hard cut (no pause at all) is looked for in the last second before the limit.
const HARD_CUT_SEARCH_SEC = 1

interface Pause { start: number, end: number, meanDb: number }

/**
 * Frame levels (dB per 10 ms frame) of PCM that arrives in pieces, so a recording of hours is
 * judged from its levels (8 bytes per frame) without ever holding its samples.
 */
export function createLevelMeter (sampleRate = 16_000) {
  const hop = Math.round(sampleRate * FRAME_SEC)
  const levels: number[] = []
  let energy = 0
  let count = 0
  let total = 0
  const close = () => { levels.push(10 * Math.log10(energy / count + 1e-12)); energy = 0; count = 0 }
  return {
    push (samples: Int16Array | Float32Array) {
      const scale = samples instanceof Int16Array ? 1 / 32768 : 1
      for (let i = 0; i < samples.length; i++) {
        const v = (samples[i] ?? 0) * scale
        energy += v * v
        if (++count === hop) close()
      }
      total += samples.length
    },
    /** The levels so far (a last partial frame included) and how many samples they cover. */
    finish (): { levels: Float64Array, samples: number } {
      if (count > 0) close()
      return { levels: Float64Array.from(levels), samples: total }
    }
  }
}

function percentile (sorted: Float64Array, fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? -120
}

/**
 * Silence is judged against the recording itself, so a noisy phone call and a studio take both
 * split. A recording without contrast is all sound or all silence, by its absolute level.
 */
function silenceThreshold (levels: Float64Array): number {
  const sorted = levels.slice().sort()
  // The 5th percentile, not the minimum: a few digital-zero frames (encoder padding) must not set the floor.
  const floor = percentile(sorted, 0.05)
  const peak = percentile(sorted, 0.98)
  if (peak - floor < ABOVE_FLOOR_DB) return peak > AUDIBLE_DB ? -Infinity : Infinity
  return Math.max(floor + ABOVE_FLOOR_DB, peak - BELOW_PEAK_DB)
}

/** Silent runs strictly between the first and last sound frame, at least `minFrames` long. */
function findPauses (silent: Uint8Array, levels: Float64Array, first: number, last: number, minFrames: number): Pause[] {
  const pauses: Pause[] = []
  let f = first
  while (f <= last) {
    if (!silent[f]) { f++; continue }
    const start = f
    let sum = 0
    while (f <= last && silent[f]) sum += levels[f++] ?? 0
    if (f - start >= minFrames) pauses.push({ start, end: f, meanDb: sum / (f - start) })
  }
  return pauses
}

/** Where to cut speech that has no pause: the middle of the longest gap between words, else the quietest frame. */
function hardCut (silent: Uint8Array, levels: Float64Array, from: number, to: number): number {
  let best = -1
  let bestLength = 0
  for (let f = from; f <= to;) {
    if (!silent[f]) { f++; continue }
    const start = f
    while (f <= to && silent[f]) f++
    if (f - start >= bestLength) { bestLength = f - start; best = start + Math.floor((f - start) / 2) }
  }
  if (best >= from) return best
  let quietest = to
  for (let f = to; f >= from; f--) if ((levels[f] ?? 0) < (levels[quietest] ?? 0)) quietest = f
  return quietest
}

/**
 * Pure: where the speech in 16 kHz mono PCM is, as segments of at most `maxSec` cut at pauses.
 * Within each window the cut prefers long, deep pauses near the limit (fewer, fuller segments);
 * only speech without any pause is hard-cut, at the longest gap between words. Leading,
 * trailing and long inner silences are dropped, keeping `padSec` around the speech.
 */
export function splitAtSilence (samples: Int16Array | Float32Array, options: SplitOptions = {}): SampleRange[] {
  const meter = createLevelMeter(options.sampleRate ?? 16_000)
  meter.push(samples)
  const { levels, samples: count } = meter.finish()
  return splitLevels(levels, count, options)
}

/** Pure: splitAtSilence from the frame levels of createLevelMeter, for PCM read in pieces. */
export function splitLevels (levels: Float64Array, sampleCount: number, options: SplitOptions = {}): SampleRange[] {
  const sampleRate = options.sampleRate ?? 16_000
  const hop = Math.round(sampleRate * FRAME_SEC)
  const frames = (sec: number) => Math.max(1, Math.round(sec / FRAME_SEC))
  const maxFrames = frames(options.maxSec ?? 30)
  const minPause = frames(options.minPauseSec ?? 0.25)
  const breakPause = frames(options.breakPauseSec ?? 0.8)
  const pad = Math.min(frames(options.padSec ?? 0.2), Math.floor(maxFrames / 4))
  const minSound = frames(options.minSoundSec ?? 0.1)

  if (levels.length === 0) return []
  const threshold = silenceThreshold(levels)
  const silent = new Uint8Array(levels.length)
  let first = -1
  let last = -1
  for (let f = 0; f < levels.length; f++) {
    silent[f] = (levels[f] ?? 0) < threshold ? 1 : 0
    if (!silent[f]) { if (first < 0) first = f; last = f }
  }
  if (first < 0) return []
  const pauses = findPauses(silent, levels, first, last, minPause)

  // Speech runs in frames; consecutive pieces abut exactly at a hard cut and leave the pause out otherwise.
  const pieces: Array<{ start: number, end: number }> = []
  let start = first
  let next = 0
  while (start <= last) {
    const limit = start + maxFrames - 2 * pad
    while (next < pauses.length && (pauses[next]?.start ?? 0) <= start) next++
    const reachable: Pause[] = []
    for (let i = next; i < pauses.length && (pauses[i]?.start ?? Infinity) <= limit; i++) reachable.push(pauses[i] as Pause)
    let cut = reachable.find((p) => p.end - p.start >= breakPause)
    if (!cut && last < limit) { pieces.push({ start, end: last + 1 }); break }
    if (!cut) {
      let best = -Infinity
      for (const p of reachable) {
        const position = (p.start - start) / (limit - start)
        const depth = Math.min(40, Math.max(0, threshold - p.meanDb))
        const score = Math.min(1, (p.end - p.start) * FRAME_SEC) * (1 + depth / DEPTH_WEIGHT_DB) * (0.5 + 0.5 * position)
        if (score > best) { best = score; cut = p }
      }
    }
    if (cut) {
      pieces.push({ start, end: cut.start })
      start = cut.end
    } else {
      const at = hardCut(silent, levels, Math.max(start + 1, limit - frames(HARD_CUT_SEARCH_SEC)), limit)
      pieces.push({ start, end: at })
      start = at
    }
  }

  const ranges: SampleRange[] = []
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i] as { start: number, end: number }
    let sound = 0
    for (let f = piece.start; f < piece.end; f++) if (!silent[f]) sound++
    if (sound < minSound) continue
    // Padding takes at most half of the gap to a neighbour, so segments never overlap.
    const before = i > 0 ? piece.start - (pieces[i - 1] as { end: number }).end : piece.start
    const after = i < pieces.length - 1 ? (pieces[i + 1] as { start: number }).start - piece.end : levels.length - piece.end
    const from = piece.start - Math.min(pad, i > 0 ? Math.floor(before / 2) : before)
    const to = piece.end + Math.min(pad, i < pieces.length - 1 ? Math.floor(after / 2) : after)
    ranges.push({ start: from * hop, end: Math.min(sampleCount, to * hop) })
  }
  return ranges
}
