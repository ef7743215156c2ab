import { medianAcrossFrequency, medianAcrossTime } from './median.ts'
import { freshArrays, type Workspace } from './workspace.ts'

/**
 * Harmonic/percussive separation by median filtering (Fitzgerald, DAFx 2010): a sustained
 * tone is a horizontal line in the spectrogram, which a median across time keeps and a median
 * across frequency removes; a drum hit is a vertical line, the other way round.
 */

/** Seconds the median across time spans: longer than a drum hit, shorter than a held note. */
export const HARMONIC_KERNEL_SECONDS = 0.2
/** Hz the median across frequency spans: wider than a partial's main lobe and its vibrato. */
export const PERCUSSIVE_KERNEL_HZ = 500
/** Exponent of the soft (Wiener-style) masks: H^p / (H^p + P^p). */
export const HPSS_POWER = 2

const odd = (n: number) => Math.max(1, 2 * Math.floor(Math.max(1, Math.round(n)) / 2) + 1)

export interface HpssGeometry {
  sampleRate: number
  frameSize: number
  hop: number
}

export function hpssKernels (g: HpssGeometry): { time: number, frequency: number } {
  return {
    time: odd((HARMONIC_KERNEL_SECONDS * g.sampleRate) / g.hop),
    frequency: odd((PERCUSSIVE_KERNEL_HZ * g.frameSize) / g.sampleRate)
  }
}

/**
 * Each cell's harmonic share in [0, 1] (the percussive share is 1 minus it), from a magnitude
 * spectrogram. A silent cell counts as harmonic: its share scales nothing.
 */
export function harmonicShare (magnitude: Float32Array, frames: number, bins: number, g: HpssGeometry, arrays: Workspace = freshArrays): Float32Array {
  const kernels = hpssKernels(g)
  const share = medianAcrossTime(magnitude, frames, bins, kernels.time, arrays.float32('harmonic', frames * bins))
  const percussive = new Float32Array(bins)
  const scratch = new Float32Array(kernels.frequency)
  for (let t = 0; t < frames; t++) {
    const row = t * bins
    medianAcrossFrequency(magnitude.subarray(row, row + bins), kernels.frequency, percussive, scratch)
    for (let k = 0; k < bins; k++) {
      const h = share[row + k]! ** HPSS_POWER
      const p = percussive[k]! ** HPSS_POWER
      share[row + k] = h + p > 0 ? h / (h + p) : 1
    }
  }
  return share
}
