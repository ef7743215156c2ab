// fft.js ships no types; this is the part of its API that src/dsp/fft.ts uses.
declare module 'fft.js' {
  type Numbers = { [index: number]: number, length: number }
  export default class FFT {
    constructor (size: number)
    readonly size: number
    /** Spectrum of a real signal into `out` (interleaved re/im, length 2·size): bins 0…size/2 only. */
    realTransform (out: Numbers, data: ArrayLike<number>): void
    /** Fills bins size/2+1… of a realTransform result from its conjugate symmetry. */
    completeSpectrum (spectrum: Numbers): void
    transform (out: Numbers, data: ArrayLike<number>): void
    /** Inverse complex transform, scaled by 1/size. */
    inverseTransform (out: Numbers, data: ArrayLike<number>): void
  }
}
