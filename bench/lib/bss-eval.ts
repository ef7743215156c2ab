// BSS Eval version 4 as museval computes it (sigsep/sigsep-mus-eval, museval/metrics.py:
// bss_eval with framewise_filters=False, the SiSEC 2018 / MUSDB18 setting), ported to
// TypeScript so the separation bench needs no Python. Signals are planar: one Float32Array per
// channel, every channel and every source of the same length.
//
// What museval does, and so what this does:
// - Per estimate, one time-invariant distortion filter of `filtersLen` taps over the WHOLE
//   track: the least-squares projection of the estimate onto delayed copies (0…filtersLen−1
//   samples) of every channel of the references (C, for the interference), and of reference j
//   alone (Cj, for the spatial distortion). The normal equations are built from auto- and
//   cross-correlations computed by FFT and solved once per track (by LU, as numpy does).
// - Per frame (1 s windows, 1 s hop in eval_mus_track), the decomposition of the estimate into
//   s_true + e_spat + e_interf + e_artif with those filters applied to the frame's references,
//   and the four energy ratios of _bss_crit.
// - A frame in which ANY reference or ANY estimate is silent (its channel sum is zero at every
//   sample) is NaN for every source; the track's score is the median over frames, NaN skipped.
//
// One consequence of museval's own algebra (bsseval_sources_version=False): the error in the
// SDR is e_spat + e_interf + e_artif = ŝ − s_true, so SDR = 10·log10(‖s‖² / ‖ŝ − s‖²) per frame
// and does NOT depend on the filters. The filters shape ISR, SIR and SAR (and the SDR of the
// bss_eval_sources version, where the target is the projection). So `metrics: 'sdr'` computes
// exactly museval's SDR without the filters, and `'all'` pays for them.
import FFT from 'fft.js'

export type Signal = readonly Float32Array[]

export interface BssEvalOptions {
  /** Frame length in samples; Infinity for one frame over the whole track. Default 44100. */
  window?: number
  /** Samples between frame starts. Default 44100. */
  hop?: number
  /** Taps of the distortion filters (museval's filters_len). Default 512. */
  filtersLen?: number
  /** 'sdr' (default): SDR only, which needs no filters; 'all': ISR, SIR and SAR too. */
  metrics?: 'sdr' | 'all'
  /** museval's bsseval_sources_version: the target is the projection onto reference j. */
  sourcesVersion?: boolean
}

/** Per source, per frame, in dB; NaN for a skipped frame. */
export interface BssEvalScores {
  sdr: Float64Array[]
  isr?: Float64Array[]
  sir?: Float64Array[]
  sar?: Float64Array[]
}

export interface BssEvaluator {
  evaluate: (estimates: Signal[]) => BssEvalScores
}

// numpy's float64 machine epsilon, which museval adds to the Gram matrix's diagonal.
const EPS = 2.220446049250313e-16

const nextPow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(n, 2)))

const safeDb = (num: number, den: number) => den === 0 ? Infinity : 10 * Math.log10(num / den)

/** museval's Framing: whole frames only, unless the window covers the whole track. */
export function frames (length: number, window: number, hop: number): Array<[number, number]> {
  if (!(window < length)) return [[0, length]]
  const count = Math.floor((length - window + hop) / hop)
  return Array.from({ length: count }, (_, t) => [Math.floor(t * hop), Math.floor(Math.min(t * hop + window, length))])
}

/** museval's _any_source_silent over samples [start, stop): a source whose channel sum is 0 throughout. */
function anySilent (sources: Signal[], start: number, stop: number): boolean {
  return sources.some((channels) => {
    for (let n = start; n < stop; n++) {
      let sum = 0
      for (const channel of channels) sum += channel[n]!
      if (sum !== 0) return false
    }
    return true
  })
}

/**
 * The track's score from its frames as museval aggregates them: the median, NaN skipped.
 * Infinite frames (an estimate equal to its reference there) are skipped too: museval's
 * TrackStore quantises an infinite score to NaN before it aggregates.
 */
export function trackScore (values: ArrayLike<number>): number {
  const finite = Array.from(values).filter(Number.isFinite).sort((a, b) => a - b)
  if (finite.length === 0) return NaN
  const mid = Math.floor(finite.length / 2)
  return finite.length % 2 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2
}

/** Real FFTs of one size, with full (Hermitian-completed) spectra, complex interleaved. */
class Spectra {
  readonly size: number
  private readonly fft: FFT
  private readonly real: Float64Array
  private readonly complex: Float64Array

  constructor (size: number) {
    this.size = size
    this.fft = new FFT(size)
    this.real = new Float64Array(size)
    this.complex = new Float64Array(2 * size)
  }

  /** Spectrum of signal[from, from + length), zero outside the signal and past `length`. */
  forward (signal: ArrayLike<number>, from: number, length: number, out: Float64Array): void {
    this.real.fill(0)
    const start = Math.max(0, from)
    const stop = Math.min(signal.length, from + length)
    for (let n = start; n < stop; n++) this.real[n - from] = signal[n]!
    this.fft.realTransform(out, this.real)
    this.fft.completeSpectrum(out)
  }

  /** Real part of the inverse transform of a (Hermitian) spectrum, into `out`. */
  inverse (spectrum: Float64Array, out: Float64Array): void {
    this.fft.inverseTransform(this.complex, spectrum)
    for (let n = 0; n < out.length; n++) out[n] = this.complex[2 * n]!
  }
}

/**
 * corr[x, y][k] = Σ_n x[n + k]·y[n] for lags k = −(L−1)…L−1, stored at index k + L − 1, for
 * each requested pair, over the whole signals (zero outside them). museval takes one FFT of
 * the whole track per signal; this sums the same products block by block, so memory stays at
 * one block per signal however long the track.
 */
function crossCorrelations (xs: readonly Float32Array[], ys: readonly Float32Array[], pairs: ReadonlyArray<readonly [number, number]>, filtersLen: number): Float64Array[] {
  const length = xs[0]!.length
  const reach = filtersLen - 1
  const size = nextPow2(Math.max(4 * filtersLen, 2 * reach + Math.min(length, 1 << 15)))
  const block = size - 2 * reach
  const spectra = new Spectra(size)
  const usedX = [...new Set(pairs.map(([x]) => x))]
  const usedY = [...new Set(pairs.map(([, y]) => y))]
  const xSpectra = new Map(usedX.map((x) => [x, new Float64Array(2 * size)]))
  const ySpectra = new Map(usedY.map((y) => [y, new Float64Array(2 * size)]))
  const sums = pairs.map(() => new Float64Array(2 * size))
  for (let start = 0; start < length; start += block) {
    const take = Math.min(block, length - start)
    // The x segment reaches `reach` samples either side of the y block: every lag stays inside it.
    for (const [x, out] of xSpectra) spectra.forward(xs[x]!, start - reach, take + 2 * reach, out)
    for (const [y, out] of ySpectra) spectra.forward(ys[y]!, start, take, out)
    pairs.forEach(([x, y], p) => {
      const a = xSpectra.get(x)!
      const b = ySpectra.get(y)!
      const sum = sums[p]!
      for (let i = 0; i < 2 * size; i += 2) {
        sum[i] = sum[i]! + a[i]! * b[i]! + a[i + 1]! * b[i + 1]!
        sum[i + 1] = sum[i + 1]! + a[i + 1]! * b[i]! - a[i]! * b[i + 1]!
      }
    })
  }
  return sums.map((sum) => {
    const full = new Float64Array(2 * reach + 1)
    spectra.inverse(sum, full)
    return full
  })
}

// Columns per panel of the blocked factorisation: the panel's rows stay in cache while the
// rest of the matrix streams past.
const PANEL = 64

interface LuFactors { lu: Float64Array, pivots: Int32Array, n: number }

/**
 * LU with partial pivoting, what numpy.linalg.solve runs (LAPACK gesv). Not Cholesky, though
 * the Gram matrix is symmetric: music is band-limited (a 22 kHz voice, a bass with nothing
 * above a few kHz), so the matrix of its delayed copies is numerically singular, Cholesky meets
 * a pivot ≤ 0, and a ridge to rescue it moves SIR and SAR by dB, because the exact
 * least-squares fit of a broadband estimate does use those near-null directions. With LU the
 * metrics stay within 0.002 dB of museval's on real stems. Blocked by panels of columns, the
 * trailing update two rows by two columns at a time: a 4096² system (4 stems) in under a minute.
 */
function luFactor (a: Float64Array, n: number): LuFactors {
  const pivots = new Int32Array(n)
  for (let k0 = 0; k0 < n; k0 += PANEL) {
    const k1 = Math.min(n, k0 + PANEL)
    // The panel, unblocked: pivot, swap whole rows, eliminate within the panel's columns.
    for (let j = k0; j < k1; j++) {
      let p = j
      for (let r = j + 1; r < n; r++) if (Math.abs(a[r * n + j]!) > Math.abs(a[p * n + j]!)) p = r
      pivots[j] = p
      if (a[p * n + j] === 0) throw new Error('bss_eval: singular system')
      if (p !== j) {
        for (let c = 0; c < n; c++) {
          const t = a[j * n + c]!
          a[j * n + c] = a[p * n + c]!
          a[p * n + c] = t
        }
      }
      const d = a[j * n + j]!
      for (let r = j + 1; r < n; r++) {
        const f = a[r * n + j]! / d
        a[r * n + j] = f
        if (f !== 0) for (let c = j + 1; c < k1; c++) a[r * n + c] = a[r * n + c]! - f * a[j * n + c]!
      }
    }
    // U12 = L11⁻¹·A12
    for (let r = k0 + 1; r < k1; r++) {
      for (let q = k0; q < r; q++) {
        const l = a[r * n + q]!
        if (l !== 0) for (let c = k1; c < n; c++) a[r * n + c] = a[r * n + c]! - l * a[q * n + c]!
      }
    }
    // A22 −= L21·U12
    for (let i = k1; i < n; i += 2) {
      const pair = i + 1 < n
      const ri = i * n
      const ri1 = ri + n
      let k = k0
      for (; k + 1 < k1; k += 2) {
        const rk = k * n
        const rk1 = rk + n
        const l00 = a[ri + k]!
        const l01 = a[ri + k + 1]!
        if (pair) {
          const l10 = a[ri1 + k]!
          const l11 = a[ri1 + k + 1]!
          for (let c = k1; c < n; c++) {
            const u0 = a[rk + c]!
            const u1 = a[rk1 + c]!
            a[ri + c] = a[ri + c]! - (l00 * u0 + l01 * u1)
            a[ri1 + c] = a[ri1 + c]! - (l10 * u0 + l11 * u1)
          }
        } else {
          for (let c = k1; c < n; c++) a[ri + c] = a[ri + c]! - (l00 * a[rk + c]! + l01 * a[rk1 + c]!)
        }
      }
      for (; k < k1; k++) {
        const rk = k * n
        const l0 = a[ri + k]!
        const l1 = pair ? a[ri1 + k]! : 0
        for (let c = k1; c < n; c++) {
          const u = a[rk + c]!
          a[ri + c] = a[ri + c]! - l0 * u
          if (pair) a[ri1 + c] = a[ri1 + c]! - l1 * u
        }
      }
    }
  }
  return { lu: a, pivots, n }
}

function luSolve ({ lu, pivots, n }: LuFactors, b: Float64Array): Float64Array {
  const x = Float64Array.from(b)
  for (let j = 0; j < n; j++) {
    const p = pivots[j]!
    if (p !== j) {
      const t = x[j]!
      x[j] = x[p]!
      x[p] = t
    }
  }
  for (let i = 0; i < n; i++) {
    let s = x[i]!
    for (let k = 0; k < i; k++) s -= lu[i * n + k]! * x[k]!
    x[i] = s
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i]!
    for (let k = i + 1; k < n; k++) s -= lu[i * n + k]! * x[k]!
    x[i] = s / lu[i * n + i]!
  }
  return x
}

/**
 * The Gram matrix of the delayed reference channels `members` (indices into the flattened
 * source×channel list), plus eps on the diagonal: entry ((p, a), (q, b)) = ⟨x_p(· − a), x_q(· − b)⟩
 * = corr[p, q][b − a], museval's _compute_reference_correlations after _reshape_G.
 */
function gram (members: readonly number[], corr: (p: number, q: number) => Float64Array, filtersLen: number): Float64Array {
  const n = members.length * filtersLen
  const g = new Float64Array(n * n)
  const reach = filtersLen - 1
  members.forEach((p, bp) => {
    members.forEach((q, bq) => {
      const c = corr(p, q)
      for (let a = 0; a < filtersLen; a++) {
        const row = (bp * filtersLen + a) * n + bq * filtersLen
        for (let b = 0; b < filtersLen; b++) g[row + b] = c[b - a + reach]!
      }
    })
  })
  for (let i = 0; i < n; i++) g[i * n + i] = g[i * n + i]! + EPS
  return g
}

/** A linear system over one Gram matrix, factorised once and solved for many right-hand sides. */
function gramSolver (build: () => Float64Array, n: number): (rhs: Float64Array[]) => Float64Array[] {
  let factors: LuFactors | undefined
  return (rhs) => {
    factors ??= luFactor(build(), n)
    return rhs.map((b) => luSolve(factors!, b))
  }
}

function validate (references: Signal[], estimates: Signal[]): void {
  if (references.length === 0) throw new Error('bss_eval: no reference sources')
  if (estimates.length !== references.length) throw new Error(`bss_eval: ${estimates.length} estimates for ${references.length} references`)
  const channels = references[0]!.length
  const length = references[0]![0]?.length ?? 0
  for (const signal of [...references, ...estimates]) {
    if (signal.length !== channels || signal.some((c) => c.length !== length)) throw new Error('bss_eval: the estimates and references must have the same shape')
  }
  if (anySilent(references, 0, length)) throw new Error('bss_eval: a reference source is silent throughout')
  if (anySilent(estimates, 0, length)) throw new Error('bss_eval: an estimated source is silent throughout')
}

/**
 * Prepares the references once (correlations, and the Gram matrices' factors when the filters
 * are needed), then scores any number of estimate sets against them.
 */
export function createBssEval (references: Signal[], options: BssEvalOptions = {}): BssEvaluator {
  const window = options.window ?? 44100
  const hop = options.hop ?? 44100
  const filtersLen = options.filtersLen ?? 512
  const full = options.metrics === 'all' || options.sourcesVersion === true
  const sources = references.length
  const channels = references[0]?.length ?? 0
  const length = references[0]?.[0]?.length ?? 0
  const flat = references.flatMap((s) => [...s])
  const reach = filtersLen - 1

  let refCorr: Map<string, Float64Array> | undefined
  const corr = (p: number, q: number): Float64Array => {
    if (!refCorr) {
      const pairs: Array<[number, number]> = []
      for (let p = 0; p < flat.length; p++) for (let q = p; q < flat.length; q++) pairs.push([p, q])
      const values = crossCorrelations(flat, flat, pairs, filtersLen)
      refCorr = new Map(pairs.map(([p, q], i) => [`${p},${q}`, values[i]!]))
    }
    if (p <= q) return refCorr.get(`${p},${q}`)!
    // corr[q, p][k] = corr[p, q][−k]
    return refCorr.get(`${q},${p}`)!.slice().reverse()
  }
  const all = flat.map((_, i) => i)
  const solveAll = gramSolver(() => gram(all, corr, filtersLen), all.length * filtersLen)
  const solveOne = references.map((_, j) => {
    const members = Array.from({ length: channels }, (_, c) => j * channels + c)
    return gramSolver(() => gram(members, corr, filtersLen), channels * filtersLen)
  })

  /**
   * museval's _compute_projection_filters: for each output channel c, the taps from every
   * reference channel in `members` (filters[member][c], length filtersLen).
   */
  const projectionFilters = (estimate: Signal, members: readonly number[], solve: (rhs: Float64Array[]) => Float64Array[]): Float64Array[][] => {
    const pairs = members.flatMap((p) => estimate.map((_, c) => [p, c] as const))
    const values = crossCorrelations(flat, estimate, pairs, filtersLen)
    // D[(p, m), c] = ⟨x_p(· − m), ŝ_c⟩ = corr[x_p, ŝ_c][−m]
    const rhs = estimate.map((_, c) => {
      const d = new Float64Array(members.length * filtersLen)
      members.forEach((_, bp) => {
        const v = values[bp * estimate.length + c]!
        for (let m = 0; m < filtersLen; m++) d[bp * filtersLen + m] = v[reach - m]!
      })
      return d
    })
    const solved = solve(rhs)
    return members.map((_, bp) => estimate.map((_, c) => solved[c]!.subarray(bp * filtersLen, (bp + 1) * filtersLen)))
  }

  return {
    evaluate (estimates) {
      validate(references, estimates)
      const windows = frames(length, window, hop)
      const scores: Required<BssEvalScores> = {
        sdr: references.map(() => new Float64Array(windows.length).fill(NaN)),
        isr: references.map(() => new Float64Array(windows.length).fill(NaN)),
        sir: references.map(() => new Float64Array(windows.length).fill(NaN)),
        sar: references.map(() => new Float64Array(windows.length).fill(NaN))
      }
      const scored = windows.map(([start, stop]) => !anySilent(references, start, stop) && !anySilent(estimates, start, stop))

      if (!full) {
        windows.forEach(([start, stop], t) => {
          if (!scored[t]) return
          for (let j = 0; j < sources; j++) {
            let target = 0
            let error = 0
            for (let c = 0; c < channels; c++) {
              const s = references[j]![c]!
              const e = estimates[j]![c]!
              for (let n = start; n < stop; n++) {
                target += s[n]! * s[n]!
                error += (e[n]! - s[n]!) ** 2
              }
            }
            scores.sdr[j]![t] = safeDb(target, error)
          }
        })
        return { sdr: scores.sdr }
      }

      for (let j = 0; j < sources; j++) {
        const estimate = estimates[j]!
        const own = Array.from({ length: channels }, (_, c) => j * channels + c)
        const interference = projectionFilters(estimate, all, solveAll)
        const spatial = projectionFilters(estimate, own, solveOne[j]!)
        let spectra: Spectra | undefined
        let filterSpectra: { interference: Float64Array[][], spatial: Float64Array[][] } | undefined
        windows.forEach(([start, stop], t) => {
          if (!scored[t]) return
          const span = stop - start + reach
          const size = nextPow2(span)
          // Every frame but a whole-track one has the same length: the filters' spectra are made once.
          if (spectra?.size !== size) {
            spectra = new Spectra(size)
            const transform = (taps: Float64Array) => {
              const out = new Float64Array(2 * size)
              spectra!.forward(taps, 0, filtersLen, out)
              return out
            }
            filterSpectra = { interference: interference.map((row) => row.map(transform)), spatial: spatial.map((row) => row.map(transform)) }
          }
          const refSpectra = flat.map((x) => {
            const out = new Float64Array(2 * size)
            spectra!.forward(x, start, stop - start, out)
            return out
          })
          // _project: Σ over reference channels of filter ⊛ reference, per output channel.
          const project = (members: readonly number[], filters: Float64Array[][], c: number) => {
            const sum = new Float64Array(2 * size)
            members.forEach((p, bp) => {
              const a = refSpectra[p]!
              const b = filters[bp]![c]!
              for (let i = 0; i < 2 * size; i += 2) {
                sum[i] = sum[i]! + a[i]! * b[i]! - a[i + 1]! * b[i + 1]!
                sum[i + 1] = sum[i + 1]! + a[i]! * b[i + 1]! + a[i + 1]! * b[i]!
              }
            })
            const out = new Float64Array(span)
            spectra!.inverse(sum, out)
            return out
          }
          let target = 0
          let spat = 0
          let interf = 0
          let artif = 0
          let error = 0
          let filtered = 0
          let projected = 0
          let filteredError = 0
          for (let c = 0; c < channels; c++) {
            const own_ = project(own, filterSpectra!.spatial, c)
            const allOf = project(all, filterSpectra!.interference, c)
            const s = references[j]![c]!
            const e = estimate[c]!
            for (let n = 0; n < span; n++) {
              // Past the frame, s_true and the estimate are the zero padding of _bss_decomp_mtifilt.
              const sv = n < stop - start ? s[start + n]! : 0
              const ev = n < stop - start ? e[start + n]! : 0
              const pj = own_[n]!
              const pa = allOf[n]!
              target += sv * sv
              spat += (pj - sv) ** 2
              interf += (pa - pj) ** 2
              artif += (ev - pa) ** 2
              error += (ev - sv) ** 2
              filtered += pj * pj
              projected += pa * pa
              filteredError += (ev - pj) ** 2
            }
          }
          // _bss_crit
          if (options.sourcesVersion) {
            scores.sdr[j]![t] = safeDb(filtered, filteredError)
            scores.sir[j]![t] = safeDb(filtered, interf)
            scores.sar[j]![t] = safeDb(projected, artif)
          } else {
            scores.sdr[j]![t] = safeDb(target, error)
            scores.isr[j]![t] = safeDb(target, spat)
            scores.sir[j]![t] = safeDb(filtered, interf)
            scores.sar[j]![t] = safeDb(projected, artif)
          }
        })
      }
      return scores
    }
  }
}

/** One-shot bss_eval: references and estimates, per source and frame. */
export function bssEval (references: Signal[], estimates: Signal[], options: BssEvalOptions = {}): BssEvalScores {
  return createBssEval(references, options).evaluate(estimates)
}
