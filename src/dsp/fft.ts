/**
 * Real-input FFT, radix-2. A real signal of N samples is packed into a complex one of N/2
 * (even samples real, odd samples imaginary) and untangled afterwards: half the work of a
 * complex FFT of N, and all the spectra here come from real audio.
 */
export interface RealFft {
  size: number
  /** size / 2 + 1: DC to Nyquist. */
  bins: number
  /** Spectrum of `input` (length `size`) into `re`/`im` (length `bins`). */
  forward: (input: ArrayLike<number>, re: Float64Array, im: Float64Array) => void
}

function isPowerOfTwo (n: number): boolean {
  return Number.isInteger(n) && n >= 2 && (n & (n - 1)) === 0
}

export function createRealFft (size: number): RealFft {
  if (!isPowerOfTwo(size) || size < 4) throw new RangeError(`FFT size must be a power of two ≥ 4, got ${size}`)
  const half = size / 2
  const bins = half + 1
  const bits = Math.log2(half)
  const reversed = new Uint32Array(half)
  for (let i = 0; i < half; i++) {
    let r = 0
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b)
    reversed[i] = r
  }
  // Twiddles of the full size: the half-size complex FFT uses every other one.
  const cos = new Float64Array(half)
  const sin = new Float64Array(half)
  for (let k = 0; k < half; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / size)
    sin[k] = Math.sin((2 * Math.PI * k) / size)
  }
  const zr = new Float64Array(half)
  const zi = new Float64Array(half)

  const complexFft = () => {
    for (let span = 1; span < half; span *= 2) {
      const step = half / span
      for (let j = 0; j < span; j++) {
        const wr = cos[j * step]!
        const wi = -sin[j * step]!
        for (let a = j; a < half; a += 2 * span) {
          const b = a + span
          const tr = wr * zr[b]! - wi * zi[b]!
          const ti = wr * zi[b]! + wi * zr[b]!
          zr[b] = zr[a]! - tr
          zi[b] = zi[a]! - ti
          zr[a] = zr[a]! + tr
          zi[a] = zi[a]! + ti
        }
      }
    }
  }

  return {
    size,
    bins,
    forward (input, re, im) {
      for (let n = 0; n < half; n++) {
        const to = reversed[n]!
        zr[to] = input[2 * n]!
        zi[to] = input[2 * n + 1]!
      }
      complexFft()
      // X[k] = E[k] + e^(-2πik/N)·O[k], with E and O recovered from Z[k] and conj(Z[N/2-k]).
      for (let k = 0; k <= half; k++) {
        const a = k % half
        const b = (half - k) % half
        const er = (zr[a]! + zr[b]!) / 2
        const ei = (zi[a]! - zi[b]!) / 2
        const or = (zi[a]! + zi[b]!) / 2
        const oi = (zr[b]! - zr[a]!) / 2
        const wr = k === half ? -1 : cos[k]!
        const wi = k === half ? 0 : -sin[k]!
        re[k] = er + wr * or - wi * oi
        im[k] = ei + wr * oi + wi * or
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
