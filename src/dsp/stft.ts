import { createRealFft, hannWindow } from './fft.ts'

export interface StftOptions {
  /** Frame length in samples, a power of two. */
  size: number
  /** Samples between frame starts. */
  hop: number
  /**
   * Magnitude spectrum of each frame (size/2 + 1 bins), scaled so that a full-scale sine
   * reads about 1 at its bin. The array is reused for the next frame: copy what you keep.
   */
  onFrame: (magnitudes: Float32Array) => void
}

export interface Stft {
  /** Feed the next samples, in chunks of any length; whole frames are emitted as they fill. */
  push: (samples: Float32Array) => void
}

/**
 * Streaming short-time Fourier transform of a mono signal: memory stays at one frame, so an
 * hour of audio can go through in chunks. The first frame starts at sample 0 (no padding);
 * a trailing part shorter than a frame is not emitted.
 */
export function createStft ({ size, hop, onFrame }: StftOptions): Stft {
  if (!(Number.isInteger(hop) && hop >= 1 && hop <= size)) throw new RangeError(`STFT hop must be 1…${size}, got ${hop}`)
  const fft = createRealFft(size)
  const window = hannWindow(size)
  const scale = 2 / window.reduce((sum, w) => sum + w, 0)
  const buffer = new Float32Array(size)
  const frame = new Float64Array(size)
  const re = new Float64Array(fft.bins)
  const im = new Float64Array(fft.bins)
  const magnitudes = new Float32Array(fft.bins)
  let filled = 0

  const emit = () => {
    for (let n = 0; n < size; n++) frame[n] = buffer[n]! * window[n]!
    fft.forward(frame, re, im)
    // Not Math.hypot: its overflow care costs several times more, and spectra here are small.
    for (let k = 0; k < fft.bins; k++) magnitudes[k] = Math.sqrt(re[k]! * re[k]! + im[k]! * im[k]!) * scale
    onFrame(magnitudes)
  }

  return {
    push (samples) {
      let at = 0
      while (at < samples.length) {
        const take = Math.min(size - filled, samples.length - at)
        buffer.set(samples.subarray(at, at + take), filled)
        filled += take
        at += take
        if (filled === size) {
          emit()
          buffer.copyWithin(0, hop)
          filled = size - hop
        }
      }
    }
  }
}
