/**
 * The stereo cue: a voice mixed to the centre is the same in both channels, so at a cell it
 * dominates, 2·Re(L·R̄) / (|L|² + |R|²) is near 1. For a centred source S over a wide
 * (decorrelated) bed of power σ² per channel, the expected value is |S|² / (|S|² + σ²): the
 * centre's Wiener gain. It is 0 for a source panned hard to one side and negative in anti-phase.
 */

/** Frames either side the cross- and auto-power are averaged over: one frame is too noisy. */
export const CENTRE_SMOOTHING_FRAMES = 2
/** The gain is raised to this power: above 1 it also lowers sources panned part-way. */
export const CENTRE_POWER = 2

/**
 * Accumulates the centre weights of a whole stretch frame by frame, from each frame's left
 * and right spectra as the analysis computes them, and keeps only the weights: a ring of the
 * last few frames' cross- and auto-power is all the smoothing needs.
 */
export function centreTracker (frames: number, bins: number, weights: Float32Array = new Float32Array(frames * bins)) {
  const span = 2 * CENTRE_SMOOTHING_FRAMES + 1
  const cross = new Float32Array(span * bins)
  const power = new Float32Array(span * bins)
  let pushed = 0
  // Weights of frame t from the ring, once frames t-r…t+r (within the stretch) are in it.
  const settle = (t: number) => {
    const from = Math.max(0, t - CENTRE_SMOOTHING_FRAMES)
    const to = Math.min(pushed - 1, t + CENTRE_SMOOTHING_FRAMES)
    for (let k = 0; k < bins; k++) {
      let c = 0
      let p = 0
      for (let u = from; u <= to; u++) {
        c += cross[(u % span) * bins + k]!
        p += power[(u % span) * bins + k]!
      }
      const gain = p > 0 ? (2 * c) / p : 0
      weights[t * bins + k] = gain > 0 ? Math.min(1, gain) ** CENTRE_POWER : 0
    }
  }
  return {
    push (lr: ArrayLike<number>, li: ArrayLike<number>, rr: ArrayLike<number>, ri: ArrayLike<number>) {
      const row = (pushed % span) * bins
      for (let k = 0; k < bins; k++) {
        cross[row + k] = lr[k]! * rr[k]! + li[k]! * ri[k]!
        power[row + k] = lr[k]! * lr[k]! + li[k]! * li[k]! + rr[k]! * rr[k]! + ri[k]! * ri[k]!
      }
      pushed++
      if (pushed > CENTRE_SMOOTHING_FRAMES) settle(pushed - 1 - CENTRE_SMOOTHING_FRAMES)
    },
    /** The weights of every frame, `weights[frame * bins + bin]`, once all frames are in. */
    finish (): Float32Array {
      for (let t = Math.max(0, pushed - CENTRE_SMOOTHING_FRAMES); t < pushed; t++) settle(t)
      return weights
    }
  }
}

/**
 * Weights that mix n channels (ffmpeg's default layout for n: 2.1, quad, 5.0, 5.1, 6.1, 7.1) to
 * the left/right pair the stereo cue is read from, as ITU-R BS.775 does: centre and surrounds
 * at -3 dB, the LFE left out (it holds bass, which the cue does not decide).
 */
const M3 = Math.SQRT1_2
const LAYOUT_WEIGHTS: Record<number, [number, number][]> = {
  3: [[1, 0], [0, 1], [0, 0]],
  4: [[1, 0], [0, 1], [M3, 0], [0, M3]],
  5: [[1, 0], [0, 1], [M3, M3], [M3, 0], [0, M3]],
  6: [[1, 0], [0, 1], [M3, M3], [0, 0], [M3, 0], [0, M3]],
  7: [[1, 0], [0, 1], [M3, M3], [0, 0], [0.5, 0.5], [M3, 0], [0, M3]],
  8: [[1, 0], [0, 1], [M3, M3], [0, 0], [M3, 0], [0, M3], [M3, 0], [0, M3]]
}

/** The most channels a file may have: beyond 7.1 there is no layout to read a stereo cue from. */
export const MAX_CHANNELS = 8

/** The signals the masks are computed from: the channel itself, the pair, or a stereo downmix. */
export function analysisChannels (channels: Float32Array[]): Float32Array[] {
  if (channels.length <= 2) return channels
  const weights = LAYOUT_WEIGHTS[channels.length]
  if (!weights) throw new RangeError(`at most ${MAX_CHANNELS} channels, got ${channels.length}`)
  const length = channels[0]!.length
  const left = new Float32Array(length)
  const right = new Float32Array(length)
  channels.forEach((channel, c) => {
    const [wl, wr] = weights[c]!
    for (let n = 0; n < length; n++) {
      left[n] = left[n]! + wl * channel[n]!
      right[n] = right[n]! + wr * channel[n]!
    }
  })
  return [left, right]
}
