import { createStft } from './stft.ts'

export const PITCH_CLASSES = ['C', 'C#', 'D', 'D#', 'E', 'F', 'F#', 'G', 'G#', 'A', 'A#', 'B'] as const
export type PitchClass = typeof PITCH_CLASSES[number]
export type Mode = 'major' | 'minor'

export interface Key {
  tonic: PitchClass
  mode: Mode
  /** "A minor" */
  label: string
  /** Correlation of the chroma with the winning key profile, 0.5–1 (below, no key is named). */
  confidence: number
}

export interface KeyTracker {
  push: (samples: Float32Array) => void
  /** null when there is no key to speak of: silence, noise, drums, speech. */
  estimate: () => Key | null
}

// Krumhansl & Kessler (1982): how well each pitch class fits a major or minor key on C.
const MAJOR_PROFILE = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]
const MINOR_PROFILE = [6.33, 2.68, 3.52, 5.38, 2.6, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]

// ~370 ms frames: semitones apart near 100 Hz need a few Hz of resolution.
const FRAME_SECONDS = 0.37
const HOP_FRACTION = 2
// C2 to C8: bass lines to the upper partials of a melody.
const MIN_HZ = 440 * 2 ** (-45 / 12)
const MAX_HZ = MIN_HZ * 2 ** 6
// The pitch histogram has ten 10-cent steps per semitone, so the tuning can be read off it
// (a band tuned to A=435 Hz, a record played slightly fast) before folding to 12 classes.
const STEPS = 10
// A spectral peak counts as a pitch when it stands this far above the frame's median bin
// (noise peaks almost never reach 4× the median) and within 40 dB of the frame's loudest.
const PEAK_OVER_MEDIAN = 4
const PEAK_UNDER_MAX = 0.01
const SILENCE = 1e-5
// Below this share of the spectrum in pitched peaks, the signal is noise with a stray peak.
const MIN_TONAL_SHARE = 0.02
// Tonal music correlates with its key's profile at 0.6–0.9; speech and drums, which have
// pitches but no key, stay under this.
const MIN_CONFIDENCE = 0.5

function frameSize (sampleRate: number): number {
  return 2 ** Math.round(Math.log2(sampleRate * FRAME_SECONDS))
}

/**
 * Key from a pitch-class profile (chroma) of the whole signal, matched against the 24
 * rotated Krumhansl–Kessler profiles. The chroma counts spectral peaks, not every bin: noise
 * and drums add (almost) nothing, and a partial counts once whatever its frequency (bins are
 * evenly spaced in Hz, so summing bins would favour the top of every octave). Streaming:
 * only a 120-step histogram is kept.
 */
export function createKeyTracker (sampleRate: number): KeyTracker {
  const size = frameSize(sampleRate)
  const steps = 12 * STEPS
  const first = Math.max(1, Math.ceil((MIN_HZ * size) / sampleRate))
  const last = Math.min(size / 2 - 1, Math.floor((MAX_HZ * size) / sampleRate))
  const histogram = new Float64Array(steps)
  const sorted = new Float32Array(last - first + 1)
  let total = 0
  let tonal = 0
  const stft = createStft({
    size,
    hop: size / HOP_FRACTION,
    onFrame (magnitudes) {
      sorted.set(magnitudes.subarray(first, last + 1))
      sorted.sort()
      for (const m of sorted) total += m
      const floor = Math.max(SILENCE, PEAK_OVER_MEDIAN * sorted[sorted.length >> 1]!, PEAK_UNDER_MAX * sorted[sorted.length - 1]!)
      for (let k = first; k <= last; k++) {
        const m = magnitudes[k]!
        if (m <= floor || m <= magnitudes[k - 1]! || m < magnitudes[k + 1]!) continue
        const bin = k + peakOffset(magnitudes[k - 1]!, m, magnitudes[k + 1]!)
        const midi = 69 + 12 * Math.log2((bin * sampleRate) / size / 440)
        const step = ((Math.round(midi * STEPS) % steps) + steps) % steps
        histogram[step] = histogram[step]! + m
        tonal += m
      }
    }
  })
  return {
    push: stft.push,
    estimate: () => tonal > MIN_TONAL_SHARE * total ? keyFromChroma(foldChroma(histogram)) : null
  }
}

/** Where between its neighbours a spectral peak really lies, in bins (a parabola through the log-magnitudes). */
function peakOffset (left: number, centre: number, right: number): number {
  const a = Math.log(left + SILENCE)
  const b = Math.log(centre + SILENCE)
  const c = Math.log(right + SILENCE)
  const curvature = a - 2 * b + c
  return curvature < 0 ? Math.max(-0.5, Math.min(0.5, (0.5 * (a - c)) / curvature)) : 0
}

export function estimateKey (samples: Float32Array, sampleRate: number): Key | null {
  const tracker = createKeyTracker(sampleRate)
  tracker.push(samples)
  return tracker.estimate()
}

/**
 * 10-cent histogram to 12 pitch classes, centred on the tuning: the weighted circular mean
 * of where energy falls within a semitone.
 */
function foldChroma (histogram: Float64Array): Float64Array {
  let x = 0
  let y = 0
  histogram.forEach((weight, step) => {
    const angle = (2 * Math.PI * (step % STEPS)) / STEPS
    x += weight * Math.cos(angle)
    y += weight * Math.sin(angle)
  })
  const offset = x === 0 && y === 0 ? 0 : (Math.atan2(y, x) * STEPS) / (2 * Math.PI)
  const chroma = new Float64Array(12)
  histogram.forEach((weight, step) => {
    const pitchClass = ((Math.round((step - offset) / STEPS) % 12) + 12) % 12
    chroma[pitchClass] = chroma[pitchClass]! + weight
  })
  return chroma
}

function correlation (a: ArrayLike<number>, b: ArrayLike<number>, rotation: number): number {
  const n = a.length
  let meanA = 0
  let meanB = 0
  for (let i = 0; i < n; i++) { meanA += a[i]!; meanB += b[i]! }
  meanA /= n
  meanB /= n
  let ab = 0
  let aa = 0
  let bb = 0
  for (let i = 0; i < n; i++) {
    const da = a[(i + rotation) % n]! - meanA
    const db = b[i]! - meanB
    ab += da * db
    aa += da * da
    bb += db * db
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0
}

/** The best of the 24 keys for a 12-bin chroma (index 0 = C), or null if none fits well. */
export function keyFromChroma (chroma: ArrayLike<number>): Key | null {
  const values = Array.from(chroma)
  const max = Math.max(...values)
  const min = Math.min(...values)
  if (!(max > 0) || max === min) return null
  let best: Key | null = null
  for (const [mode, profile] of [['major', MAJOR_PROFILE], ['minor', MINOR_PROFILE]] as const) {
    for (const [index, tonic] of PITCH_CLASSES.entries()) {
      const r = correlation(values, profile, index)
      if (!best || r > best.confidence) best = { tonic, mode, label: `${tonic} ${mode}`, confidence: r }
    }
  }
  return best && best.confidence >= MIN_CONFIDENCE ? best : null
}
