import FFT from 'fft.js'

/**
 * Real-input FFT on fft.js (radix-4, float64). bench/fft/run.ts measured it against
 * kissfft-wasm and @echogarden/pffft-wasm (docs/separation.md, "FFT": pffft's 4× transform
 * saved 2–11% of a separation and cost 12 MiB of peak memory); every transform in
 * src/dsp goes through this one adapter, so swapping the package touches nothing else.
 */
export interface RealFft {
  size: number
  /** size / 2 + 1: DC to Nyquist. */
  bins: number
  /** Spectrum of `input` (length `size`) into `re`/`im` (length `bins`). */
  forward: (input: ArrayLike<number>, re: Float64Array | Float32Array, im: Float64Array | Float32Array) => void
  /** The real signal (length `size`) whose spectrum is `re`/`im` (bins DC…Nyquist): forward's inverse. */
  inverse: (re: ArrayLike<number>, im: ArrayLike<number>, output: Float64Array | Float32Array) => void
  /**
   * Two inverses for the price of one complex transform: the spectra of two real signals are
   * the real and imaginary parts of one complex signal's spectrum, X₁ + i·X₂.
   */
  inversePair: (re1: ArrayLike<number>, im1: ArrayLike<number>, re2: ArrayLike<number>, im2: ArrayLike<number>, out1: Float64Array | Float32Array, out2: Float64Array | Float32Array) => void
}

function isPowerOfTwo (n: number): boolean {
  return Number.isInteger(n) && n >= 2 && (n & (n - 1)) === 0
}

export function createRealFft (size: number): RealFft {
  if (!isPowerOfTwo(size) || size < 4) throw new RangeError(`FFT size must be a power of two ≥ 4, got ${size}`)
  const fft = new FFT(size)
  const half = size / 2
  const bins = half + 1
  const spectrum = new Float64Array(2 * size)
  const signal = new Float64Array(2 * size)

  return {
    size,
    bins,
    forward (input, re, im) {
      fft.realTransform(spectrum, input)
      for (let k = 0; k < bins; k++) {
        re[k] = spectrum[2 * k]!
        im[k] = spectrum[2 * k + 1]!
      }
    },
    inverse (re, im, output) {
      for (let k = 0; k < bins; k++) {
        spectrum[2 * k] = re[k]!
        spectrum[2 * k + 1] = im[k]!
      }
      // A real signal's spectrum is conjugate-symmetric; DC and Nyquist are real.
      spectrum[1] = 0
      spectrum[2 * half + 1] = 0
      fft.completeSpectrum(spectrum)
      fft.inverseTransform(signal, spectrum)
      for (let n = 0; n < size; n++) output[n] = signal[2 * n]!
    },
    inversePair (re1, im1, re2, im2, out1, out2) {
      // Z[k] = X₁[k] + i·X₂[k], with X[size-k] = conj(X[k]) for the upper half.
      spectrum[0] = re1[0]!
      spectrum[1] = re2[0]!
      spectrum[2 * half] = re1[half]!
      spectrum[2 * half + 1] = re2[half]!
      for (let k = 1; k < half; k++) {
        const r1 = re1[k]!
        const i1 = im1[k]!
        const r2 = re2[k]!
        const i2 = im2[k]!
        spectrum[2 * k] = r1 - i2
        spectrum[2 * k + 1] = i1 + r2
        const m = 2 * (size - k)
        spectrum[m] = r1 + i2
        spectrum[m + 1] = r2 - i1
      }
      fft.inverseTransform(signal, spectrum)
      for (let n = 0; n < size; n++) {
        out1[n] = signal[2 * n]!
        out2[n] = signal[2 * n + 1]!
      }
    }
  }
}

/** Periodic Hann window: overlapping frames at a hop of size/2 or size/4 sum to a constant. */
export function hannWindow (size: number): Float64Array {
  const window = new Float64Array(size)
  for (let n = 0; n < size; n++) window[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / size)
  return window
}
