import { applyFades, chunkGeometry, chunkPlan, type ChunkSpan } from './chunks.ts'
import { harmonicShare } from './hpss.ts'
import { backgroundShare } from './repet.ts'
import { frameCount, frameStart, overlapAdd, stftPlan, type StftPlan } from './spectrogram.ts'
import { analysisChannels, centreTracker } from './stereo.ts'
import { freshArrays, type Workspace } from './workspace.ts'

export type StemName = 'vocals' | 'accompaniment' | 'drums' | 'bass' | 'other'
export interface SeparationOptions { stems: 2 | 4 }
/** Planar stems: one Float32Array per channel, as long as the input. */
export type Stems = Partial<Record<StemName, Float32Array[]>>

/**
 * `tympan`: HPSS, REPET-SIM and the stereo centre cue together. The two classical baselines
 * the bench compares it with, each alone: `hpss` and `repet-sim`.
 */
export type SeparationMethod = 'tympan' | 'hpss' | 'repet-sim'

export const STEM_NAMES: Record<2 | 4, StemName[]> = {
  2: ['vocals', 'accompaniment'],
  4: ['vocals', 'drums', 'bass', 'other']
}

/** About 46 ms per frame (2048 samples at 44.1 and 48 kHz), a quarter-frame hop. */
export const FRAME_SECONDS = 0.046
export const HOPS_PER_FRAME = 4
/** The soft crossover below which the harmonic rest is bass (a 4th-order low-pass shape). */
export const BASS_CROSSOVER_HZ = 250
/** Below this a voice has no energy worth taking: the vocal mask fades out (high-pass shape). */
export const VOCAL_LOW_HZ = 90
/** The plain-HPSS baseline, which has no vocal cue, calls the harmonic part in this band vocals. */
export const HPSS_VOICE_BAND_HZ: [number, number] = [200, 5000]
/** The plain REPET-SIM baseline, which has no percussive cue, calls its background above this drums. */
export const REPET_DRUM_BAND_HZ = 4000
const CROSSOVER_ORDER = 4

export function frameSize (sampleRate: number): number {
  const exponent = Math.round(Math.log2(FRAME_SECONDS * sampleRate))
  return 2 ** Math.min(13, Math.max(8, exponent))
}

/** 1 well below `hz`, 0 well above, 1/2 at it. */
function lowPass (bins: number, size: number, sampleRate: number, hz: number): Float32Array {
  const shape = new Float32Array(bins)
  for (let k = 0; k < bins; k++) shape[k] = 1 / (1 + ((k * sampleRate) / size / hz) ** (2 * CROSSOVER_ORDER))
  return shape
}

interface FrameMasks {
  /** The non-residual stems, in STEM_NAMES order; the last stem is the mixture minus these. */
  stems: StemName[]
  /** Fills `out[s][k]` with stem s's share of each bin of frame t. */
  frame: (t: number, out: Float32Array[]) => void
}

interface Analysis {
  plan: StftPlan
  sampleRate: number
  /** Mean magnitude over the analysis channels, `magnitude[frame * bins + bin]`. */
  magnitude: Float32Array
  /** The centre weight of every cell, from a stereo pair (undefined for mono). */
  centre: Float32Array | undefined
  frames: number
  bins: number
  arrays: Workspace
}

/** The windowed frame `t` of `signal` (zeros outside it). */
function windowed (plan: StftPlan, signal: Float32Array, t: number, frame: Float64Array): void {
  const { size, window } = plan
  const start = frameStart(plan, t)
  for (let n = 0; n < size; n++) {
    const at = start + n
    frame[n] = at >= 0 && at < signal.length ? signal[at]! * window[n]! : 0
  }
}

/**
 * One pass over the frames keeps what the masks need (the mean magnitude, the centre
 * weights) and not the complex spectra: the synthesis transforms each frame again, which
 * costs a forward FFT per frame and saves a chunk's spectra, the largest thing it would hold.
 */
function analyse (channels: Float32Array[], sampleRate: number, arrays: Workspace): Analysis {
  const size = frameSize(sampleRate)
  const plan = stftPlan(size, size / HOPS_PER_FRAME)
  const signals = analysisChannels(channels)
  const frames = frameCount(plan, signals[0]!.length)
  const bins = plan.fft.bins
  const magnitude = arrays.float32('magnitude', frames * bins)
  const centre = signals.length === 2 ? centreTracker(frames, bins, arrays.float32('centre', frames * bins)) : undefined
  const frame = new Float64Array(size)
  const spectra = signals.map(() => ({ re: new Float64Array(bins), im: new Float64Array(bins) }))
  for (let t = 0; t < frames; t++) {
    signals.forEach((signal, c) => {
      windowed(plan, signal, t, frame)
      plan.fft.forward(frame, spectra[c]!.re, spectra[c]!.im)
    })
    const row = t * bins
    for (const { re, im } of spectra) {
      for (let k = 0; k < bins; k++) magnitude[row + k] = magnitude[row + k]! + Math.sqrt(re[k]! * re[k]! + im[k]! * im[k]!) / spectra.length
    }
    if (centre) centre.push(spectra[0]!.re, spectra[0]!.im, spectra[1]!.re, spectra[1]!.im)
  }
  return { plan, sampleRate, magnitude, centre: centre?.finish(), frames, bins, arrays }
}

const geometry = (a: Analysis) => ({ sampleRate: a.sampleRate, frameSize: a.plan.size, hop: a.plan.hop })

function tympanMasks (a: Analysis, stems: 2 | 4): FrameMasks {
  const { bins } = a
  const harmonic = harmonicShare(a.magnitude, a.frames, bins, geometry(a), a.arrays)
  const background = backgroundShare(a.magnitude, a.frames, bins, geometry(a), a.arrays)
  const low = lowPass(bins, a.plan.size, a.sampleRate, BASS_CROSSOVER_HZ)
  const voiceFloor = lowPass(bins, a.plan.size, a.sampleRate, VOCAL_LOW_HZ)
  const { centre } = a
  return {
    stems: STEM_NAMES[stems].slice(0, -1),
    frame (t, out) {
      const row = t * bins
      for (let k = 0; k < bins; k++) {
        // Both cues must agree (a product): not repeating, and centred (mono: no cue, 1).
        // Below the bass crossover, what is harmonic is left to the bass, which is centred too.
        const h = harmonic[row + k]!
        const vocals = (1 - background[row + k]!) * (centre ? centre[row + k]! : 1) * (1 - voiceFloor[k]!) * (1 - low[k]! * h)
        out[0]![k] = vocals
        if (stems === 4) {
          const rest = 1 - vocals
          out[1]![k] = rest * (1 - h)
          out[2]![k] = rest * h * low[k]!
        }
      }
    }
  }
}

function hpssMasks (a: Analysis, stems: 2 | 4): FrameMasks {
  const { bins } = a
  const harmonic = harmonicShare(a.magnitude, a.frames, bins, geometry(a), a.arrays)
  const low = lowPass(bins, a.plan.size, a.sampleRate, BASS_CROSSOVER_HZ)
  const [from, to] = HPSS_VOICE_BAND_HZ
  const belowBand = lowPass(bins, a.plan.size, a.sampleRate, from)
  const belowTop = lowPass(bins, a.plan.size, a.sampleRate, to)
  return {
    stems: STEM_NAMES[stems].slice(0, -1),
    frame (t, out) {
      const row = t * bins
      for (let k = 0; k < bins; k++) {
        const h = harmonic[row + k]!
        const band = Math.max(0, belowTop[k]! - belowBand[k]!)
        out[0]![k] = h * (1 - low[k]!) * band
        if (stems === 4) {
          out[1]![k] = 1 - h
          out[2]![k] = h * low[k]!
        }
      }
    }
  }
}

function repetMasks (a: Analysis, stems: 2 | 4): FrameMasks {
  const { bins } = a
  const background = backgroundShare(a.magnitude, a.frames, bins, geometry(a), a.arrays)
  const low = lowPass(bins, a.plan.size, a.sampleRate, BASS_CROSSOVER_HZ)
  const belowDrums = lowPass(bins, a.plan.size, a.sampleRate, REPET_DRUM_BAND_HZ)
  return {
    stems: STEM_NAMES[stems].slice(0, -1),
    frame (t, out) {
      const row = t * bins
      for (let k = 0; k < bins; k++) {
        const b = background[row + k]!
        out[0]![k] = 1 - b
        if (stems === 4) {
          out[1]![k] = b * (1 - low[k]!) * (1 - belowDrums[k]!)
          out[2]![k] = b * low[k]!
        }
      }
    }
  }
}

const MASKS: Record<SeparationMethod, (a: Analysis, stems: 2 | 4) => FrameMasks> = {
  tympan: tympanMasks,
  hpss: hpssMasks,
  'repet-sim': repetMasks
}

/**
 * What a thread that separates chunk after chunk hands back to `separateChunk`, so that it
 * allocates nothing per chunk (see workspace.ts).
 */
export interface ChunkBuffers {
  /** The masks' and analysis' arrays. */
  workspace: Workspace
  /** Arrays for the stems but the last, stem by stem and channel by channel, any content; used
   *  when there are enough of them and each is as long as the chunk. */
  stems: Float32Array[]
  /** The last stem is written over the input channels, which the caller gives up. */
  lastStemInInput: boolean
}

/**
 * Separates one stretch held whole in memory (a chunk): masks from the analysis, applied to
 * each channel's own spectrum, one frame at a time. The last stem is the mixture minus the
 * others, so the stems sum back to the input exactly (to float rounding).
 */
export function separateChunk (channels: Float32Array[], sampleRate: number, options: SeparationOptions & { method: SeparationMethod }, buffers?: ChunkBuffers): Record<StemName, Float32Array[]> {
  const names = STEM_NAMES[options.stems]
  const length = channels[0]?.length ?? 0
  const spare = buffers && buffers.stems.length >= (names.length - 1) * channels.length && buffers.stems.every((b) => b.length === length) ? buffers.stems : []
  let taken = 0
  const array = () => taken < spare.length ? spare[taken++]!.fill(0) : new Float32Array(length)
  const out = Object.fromEntries(names.map((name, s) => [name, channels.map((channel) => s === names.length - 1 && buffers?.lastStemInInput ? channel : array())])) as Record<StemName, Float32Array[]>
  if (length === 0) return out
  const analysis = analyse(channels, sampleRate, buffers?.workspace ?? freshArrays)
  const masks = MASKS[options.method](analysis, options.stems)
  const { plan, bins, frames } = analysis
  const { fft, size } = plan
  const stemMasks = masks.stems.map(() => new Float32Array(bins))
  const frame = new Float64Array(size)
  const xr = new Float64Array(bins)
  const xi = new Float64Array(bins)
  // One masked spectrum per (stem, channel) of the frame, inverted two at a time.
  const jobs = masks.stems.flatMap((stem) => channels.map((_, c) => ({ out: out[stem][c]!, re: new Float64Array(bins), im: new Float64Array(bins) })))
  const a = new Float64Array(size)
  const b = new Float64Array(size)
  for (let t = 0; t < frames; t++) {
    masks.frame(t, stemMasks)
    for (let c = 0; c < channels.length; c++) {
      windowed(plan, channels[c]!, t, frame)
      fft.forward(frame, xr, xi)
      for (let s = 0; s < masks.stems.length; s++) {
        const job = jobs[s * channels.length + c]!
        const mask = stemMasks[s]!
        for (let k = 0; k < bins; k++) {
          job.re[k] = xr[k]! * mask[k]!
          job.im[k] = xi[k]! * mask[k]!
        }
      }
    }
    for (let j = 0; j < jobs.length; j += 2) {
      const first = jobs[j]!
      const second = jobs[j + 1]
      if (second) {
        fft.inversePair(first.re, first.im, second.re, second.im, a, b)
        overlapAdd(plan, t, a, first.out)
        overlapAdd(plan, t, b, second.out)
      } else {
        fft.inverse(first.re, first.im, a)
        overlapAdd(plan, t, a, first.out)
      }
    }
  }
  const residual = out[names.at(-1)!]
  for (let c = 0; c < channels.length; c++) {
    const rest = residual[c]!
    if (rest !== channels[c]) rest.set(channels[c]!)
    for (const stem of masks.stems) {
      const part = out[stem][c]!
      for (let n = 0; n < length; n++) rest[n] = rest[n]! - part[n]!
    }
  }
  return out
}

/** The stems of one chunk, faded for the cross-fade with its neighbours (in place). */
export function fadeChunk (stems: Record<StemName, Float32Array[]>, span: ChunkSpan, overlap: number): void {
  for (const channels of Object.values(stems)) for (const signal of channels) applyFades(signal, span, overlap)
}

function separateWhole (channels: Float32Array[], sampleRate: number, options: SeparationOptions, method: SeparationMethod): Stems {
  if (!(options.stems === 2 || options.stems === 4)) throw new RangeError(`stems must be 2 or 4, got ${String(options.stems)}`)
  if (channels.length === 0) throw new RangeError('no channels')
  const length = channels[0]!.length
  if (channels.some((c) => c.length !== length)) throw new RangeError('channels differ in length')
  const names = STEM_NAMES[options.stems]
  const result = Object.fromEntries(names.map((name) => [name, channels.map(() => new Float32Array(length))])) as Record<StemName, Float32Array[]>
  const g = chunkGeometry(sampleRate)
  for (const span of chunkPlan(length, g)) {
    const stems = separateChunk(channels.map((c) => c.subarray(span.start, span.end)), sampleRate, { stems: options.stems, method })
    fadeChunk(stems, span, g.overlap)
    for (const name of names) {
      stems[name].forEach((part, c) => {
        const into = result[name][c]!
        for (let n = 0; n < part.length; n++) into[span.start + n] = into[span.start + n]! + part[n]!
      })
    }
  }
  return result
}

/**
 * Tympan's separation of a whole signal held in memory, chunked exactly as the `separate`
 * engine chunks a file, so the bench measures what the engine does.
 */
export function separate (channels: Float32Array[], sampleRate: number, options: SeparationOptions): Stems {
  return separateWhole(channels, sampleRate, options, 'tympan')
}

/**
 * Plain HPSS: percussive → drums, harmonic below the bass crossover → bass, harmonic in the
 * voice band (HPSS_VOICE_BAND_HZ) → vocals, the harmonic rest → other (2 stems: vocals as for
 * 4, accompaniment the rest). HPSS alone has no cue for a voice; the band is its best guess.
 */
export function hpssBaseline (channels: Float32Array[], sampleRate: number, options: SeparationOptions): Stems {
  return separateWhole(channels, sampleRate, options, 'hpss')
}

/**
 * Plain REPET-SIM on the channels' mean magnitude (no stereo cue, no HPSS): foreground →
 * vocals, background → accompaniment; for 4 stems the background splits by frequency alone:
 * below the bass crossover → bass, above REPET_DRUM_BAND_HZ → drums, between → other.
 */
export function repetSimBaseline (channels: Float32Array[], sampleRate: number, options: SeparationOptions): Stems {
  return separateWhole(channels, sampleRate, options, 'repet-sim')
}
