/**
 * Real forward + inverse FFT of 2048 and 4096 points over many frames, for the FFT packages
 * Tympan could run its STFTs on. Prints frames per second and the ratio to fft.js in the same
 * run (absolute numbers depend on the machine and its load; the ratios are what chose one).
 *
 *   node bench/fft/run.ts [--frames 4000] [--pffft DIR]
 *
 * Last run (13:05 UTC, 2 loaded cores, 1.6 s of CPU): 2048 points fft.js 6 400/s, pffft-wasm
 * SIMD 25 342/s (3.96×); 4096 points 2 750/s vs 11 216/s (4.08×); pffft round-trips within
 * 4.8e-7. Tympan stays on fft.js all the same: through src/dsp/fft.ts the 4× transform made
 * a separation chunk 11% cheaper (a 10-minute run 2%) and raised its peak RSS from 287 to
 * 299 MiB (one WASM instance per thread), 1 MiB under the limit (docs/separation.md, "FFT").
 * kissfft-wasm (2.6–4.3× fft.js) was measured too and dropped: its loader fails on Node 24
 * unless the global fetch is hidden, and it installs process-wide error handlers.
 * `--pffft DIR` measures another copy of @echogarden/pffft-wasm than the installed one.
 */
import { createRequire } from 'node:module'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'

const require = createRequire(import.meta.url)
const { values } = parseArgs({ options: { frames: { type: 'string', default: '4000' }, pffft: { type: 'string' } } })
const FRAMES = Number(values.frames)
const SIZES = [2048, 4096]

interface Candidate {
  name: string
  /** Forward then inverse of one frame; returns the frame back (scaled to the input). */
  make: (size: number) => (frame: Float32Array) => Float32Array
}

function fftJs (): Candidate {
  const FFT = require('fft.js') as new (size: number) => {
    createComplexArray: () => number[]
    realTransform: (out: ArrayLike<number>, input: ArrayLike<number>) => void
    completeSpectrum: (out: ArrayLike<number>) => void
    inverseTransform: (out: ArrayLike<number>, input: ArrayLike<number>) => void
  }
  return {
    name: 'fft.js 4.0.4 (JS radix-4)',
    make (size) {
      const f = new FFT(size)
      const spectrum = new Float64Array(2 * size)
      const back = new Float64Array(2 * size)
      const out = new Float32Array(size)
      return (frame) => {
        f.realTransform(spectrum, frame)
        f.completeSpectrum(spectrum)
        f.inverseTransform(back, spectrum)
        for (let n = 0; n < size; n++) out[n] = back[2 * n]!
        return out
      }
    }
  }
}

async function pffft (dir: string): Promise<Candidate> {
  const load = (await import(pathToFileURL(path.join(dir, 'dist/simd/pffft.js')).href) as { default: () => Promise<Record<string, (...a: number[]) => number> & { HEAPF32: Float32Array }> }).default
  const m = await load()
  return {
    name: '@echogarden/pffft-wasm 0.4.2 (WASM SIMD, float32)',
    make (size) {
      const setup = m._pffft_new_setup!(size, 0)
      const input = m._pffft_aligned_malloc!(4 * size)
      const output = m._pffft_aligned_malloc!(4 * size)
      const work = m._pffft_aligned_malloc!(4 * size)
      const scale = 1 / size
      const out = new Float32Array(size)
      return (frame) => {
        m.HEAPF32.set(frame, input >> 2)
        m._pffft_transform_ordered!(setup, input, output, work, 0)
        m._pffft_transform_ordered!(setup, output, input, work, 1)
        const view = m.HEAPF32.subarray(input >> 2, (input >> 2) + size)
        for (let n = 0; n < size; n++) out[n] = view[n]! * scale
        return out
      }
    }
  }
}

const candidates = [fftJs(), await pffft(values.pffft ?? path.join(path.dirname(require.resolve('fft.js')), '../../@echogarden/pffft-wasm'))]
const frames = Array.from({ length: 16 }, (_, i) => Float32Array.from({ length: 4096 }, (_, n) => Math.sin(n * (0.01 + i * 0.003)) + 0.1 * Math.cos(n * 0.7)))

console.log(`| size | package | frames/s (fwd+inv) | ratio to fft.js | max error |`)
console.log('|---:|---|---:|---:|---:|')
for (const size of SIZES) {
  let reference = 0
  for (const candidate of candidates) {
    const run = candidate.make(size)
    let error = 0
    const probe = frames[0]!.subarray(0, size)
    const back = run(probe)
    for (let n = 0; n < size; n++) error = Math.max(error, Math.abs(back[n]! - probe[n]!))
    for (let i = 0; i < 200; i++) run(frames[i % 16]!.subarray(0, size))
    const start = process.hrtime.bigint()
    for (let i = 0; i < FRAMES; i++) run(frames[i % 16]!.subarray(0, size))
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    const rate = FRAMES / seconds
    if (reference === 0) reference = rate
    const shown = error.toExponential(1)
    console.log(`| ${size} | ${candidate.name} | ${Math.round(rate)} | ${(rate / reference).toFixed(2)} | ${shown} |`)
  }
}
