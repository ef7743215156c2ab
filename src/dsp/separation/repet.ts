import { medianInPlace } from './median.ts'
import { freshArrays, type Workspace } from './workspace.ts'

/**
 * REPET-SIM (Rafii & Pardo, ICASSP 2012): the accompaniment repeats, a voice does not. Each
 * frame's repeating background is the median, bin by bin, of the frames most similar to it
 * (cosine similarity), at least `REPET_MIN_DISTANCE_SECONDS` apart; the background's share of
 * a cell is min(model, mixture) / mixture.
 */

/** Frames nearer each other than this are one occurrence, not a repetition (the paper's d). */
export const REPET_MIN_DISTANCE_SECONDS = 1
/** At most this many similar frames (the frame itself among them) go into a median (k). */
export const REPET_MAX_REPEATS = 12
/** Frames less similar than this (cosine) never count as a repetition (t). */
export const REPET_MIN_SIMILARITY = 0.2
/**
 * The similarity is taken on this many log-spaced bands rather than on every bin: a tenth of
 * the work, and the same neighbours, since a repetition matches over the whole spectrum.
 */
export const REPET_BANDS = 64
const BAND_LOW_HZ = 40

export interface RepetGeometry {
  sampleRate: number
  frameSize: number
  hop: number
}

/** Which band each bin falls in (-1: below the lowest band), log-spaced up to Nyquist. */
function bandOfBin (bins: number, g: RepetGeometry): Int16Array {
  const bands = new Int16Array(bins)
  const nyquist = g.sampleRate / 2
  const ratio = Math.log(nyquist / BAND_LOW_HZ)
  for (let k = 0; k < bins; k++) {
    const hz = (k * g.sampleRate) / g.frameSize
    bands[k] = hz < BAND_LOW_HZ ? -1 : Math.min(REPET_BANDS - 1, Math.floor((REPET_BANDS * Math.log(hz / BAND_LOW_HZ)) / ratio))
  }
  return bands
}

/** Unit-length band profiles of every frame (zero for a silent frame). */
function bandProfiles (magnitude: Float32Array, frames: number, bins: number, g: RepetGeometry, arrays: Workspace): Float32Array {
  const bandOf = bandOfBin(bins, g)
  const profiles = arrays.float32('profiles', frames * REPET_BANDS)
  for (let t = 0; t < frames; t++) {
    const row = t * REPET_BANDS
    for (let k = 0; k < bins; k++) {
      const b = bandOf[k]!
      if (b >= 0) profiles[row + b] = profiles[row + b]! + magnitude[t * bins + k]!
    }
    let norm = 0
    for (let b = 0; b < REPET_BANDS; b++) norm += profiles[row + b]! ** 2
    if (norm > 0) {
      const scale = 1 / Math.sqrt(norm)
      for (let b = 0; b < REPET_BANDS; b++) profiles[row + b] = profiles[row + b]! * scale
    }
  }
  return profiles
}

/**
 * For each frame, the frames its background is the median of: the most similar first, each at
 * least the minimum distance from those already chosen (the frame itself always first).
 * Returns `REPET_MAX_REPEATS` slots per frame, -1 where fewer were found.
 */
export function repeatingFrames (magnitude: Float32Array, frames: number, bins: number, g: RepetGeometry, arrays: Workspace = freshArrays): Int32Array {
  const profiles = bandProfiles(magnitude, frames, bins, g, arrays)
  const distance = Math.max(1, Math.round((REPET_MIN_DISTANCE_SECONDS * g.sampleRate) / g.hop))
  const chosen = arrays.int32('chosen', frames * REPET_MAX_REPEATS).fill(-1)
  // The whole similarity matrix, each pair computed once (it is symmetric), as 16-bit fixed
  // point: an 18 s chunk's 1550 frames take 5 MB, and ranking needs no more precision.
  const matrix = arrays.uint16('similarity', frames * frames)
  for (let t = 0; t < frames; t++) {
    const a = t * REPET_BANDS
    for (let u = t; u < frames; u++) {
      const b = u * REPET_BANDS
      let dot = 0
      for (let n = 0; n < REPET_BANDS; n++) dot += profiles[a + n]! * profiles[b + n]!
      const q = Math.round(Math.min(1, Math.max(0, dot)) * 65535)
      matrix[t * frames + u] = q
      matrix[u * frames + t] = q
    }
  }
  const threshold = Math.round(REPET_MIN_SIMILARITY * 65535)
  const peaks = arrays.int32('peaks', frames)
  for (let t = 0; t < frames; t++) {
    const similarity = matrix.subarray(t * frames, (t + 1) * frames)
    // Only local maxima of the similarity are candidates (as in the paper): a tenth of the
    // frames to sort, and a repetition is counted once, at its best-aligned frame.
    let candidates = 0
    for (let u = 0; u < frames; u++) {
      const s = similarity[u]!
      if (s >= threshold && u !== t && (u === 0 || s >= similarity[u - 1]!) && (u === frames - 1 || s > similarity[u + 1]!)) peaks[candidates++] = u
    }
    const best = peaks.subarray(0, candidates).sort((x, y) => similarity[y]! - similarity[x]!)
    const slot = t * REPET_MAX_REPEATS
    chosen[slot] = t
    let count = 1
    for (let i = 0; i < candidates && count < REPET_MAX_REPEATS; i++) {
      const u = best[i]!
      let free = true
      for (let c = 0; c < count && free; c++) free = Math.abs(chosen[slot + c]! - u) >= distance
      if (free) chosen[slot + count++] = u
    }
  }
  return chosen
}

/** Each cell's repeating-background share in [0, 1]; a silent cell counts as background. */
export function backgroundShare (magnitude: Float32Array, frames: number, bins: number, g: RepetGeometry, arrays: Workspace = freshArrays): Float32Array {
  const chosen = repeatingFrames(magnitude, frames, bins, g, arrays)
  const share = arrays.float32('background', frames * bins)
  const values = new Float32Array(REPET_MAX_REPEATS)
  for (let t = 0; t < frames; t++) {
    const slot = t * REPET_MAX_REPEATS
    let count = 0
    while (count < REPET_MAX_REPEATS && chosen[slot + count]! >= 0) count++
    for (let k = 0; k < bins; k++) {
      const cell = t * bins + k
      const mixture = magnitude[cell]!
      if (!(mixture > 0)) { share[cell] = 1; continue }
      for (let c = 0; c < count; c++) values[c] = magnitude[chosen[slot + c]! * bins + k]!
      share[cell] = Math.min(1, medianInPlace(values, count) / mixture)
    }
  }
  return share
}
