import { createRealFft, hannWindow, type RealFft } from '../fft.ts'

/**
 * The complex STFT of a whole (chunk of) signal and its inverse. Frames start `size - hop`
 * samples before the signal, so that every sample lies under the same number of frames and
 * the inverse is exact everywhere, edges included. Hann analysis and synthesis windows at a
 * quarter-frame hop: their product overlap-adds to a constant.
 */
export interface Spectrogram {
  frames: number
  bins: number
  /** `re[frame * bins + bin]`, float32: the separation holds a few of these per chunk. */
  re: Float32Array
  im: Float32Array
}

export interface StftPlan {
  size: number
  hop: number
  fft: RealFft
  window: Float64Array
  /** Σ window² over the frames that cover any one sample (the synthesis normalisation). */
  gain: number
}

export function stftPlan (size: number, hop: number): StftPlan {
  if (size % hop !== 0) throw new RangeError(`hop ${hop} must divide the frame size ${size}`)
  const window = hannWindow(size)
  let gain = 0
  for (let n = 0; n < size; n += hop) gain += window[n]! ** 2
  return { size, hop, fft: createRealFft(size), window, gain }
}

/** How many frames cover `length` samples, with the lead-in of `size - hop`. */
export function frameCount (plan: StftPlan, length: number): number {
  return Math.max(1, Math.ceil((length + plan.size - plan.hop) / plan.hop))
}

/** First sample (may be negative) of frame `t`. */
export const frameStart = (plan: StftPlan, t: number) => t * plan.hop - (plan.size - plan.hop)

export function stft (plan: StftPlan, signal: Float32Array): Spectrogram {
  const { size, fft, window } = plan
  const frames = frameCount(plan, signal.length)
  const bins = fft.bins
  const re = new Float32Array(frames * bins)
  const im = new Float32Array(frames * bins)
  const frame = new Float64Array(size)
  const fr = new Float64Array(bins)
  const fi = new Float64Array(bins)
  for (let t = 0; t < frames; t++) {
    const start = frameStart(plan, t)
    for (let n = 0; n < size; n++) {
      const at = start + n
      frame[n] = at >= 0 && at < signal.length ? signal[at]! * window[n]! : 0
    }
    fft.forward(frame, fr, fi)
    re.set(fr, t * bins)
    im.set(fi, t * bins)
  }
  return { frames, bins, re, im }
}

/**
 * Adds one synthesised frame (the inverse FFT of a masked spectrum) into `out` at frame `t`,
 * windowed and normalised, dropping what falls outside the signal.
 */
export function overlapAdd (plan: StftPlan, t: number, frame: Float64Array, out: Float32Array): void {
  const { size, window, gain } = plan
  const start = frameStart(plan, t)
  const from = Math.max(0, -start)
  const to = Math.min(size, out.length - start)
  for (let n = from; n < to; n++) out[start + n] = out[start + n]! + (frame[n]! * window[n]!) / gain
}
