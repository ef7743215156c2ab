import { createStft } from './stft.ts'

export interface Tempo {
  bpm: number
  /** Normalised autocorrelation of the onset envelope at the beat period, 0–1. */
  confidence: number
}

export interface TempoTracker {
  push: (samples: Float32Array) => void
  /** null when there is no beat to speak of: silence, a steady tone, noise, too short. */
  estimate: () => Tempo | null
}

const MIN_BPM = 60
const MAX_BPM = 200
// Listeners tap near 120 BPM; between two candidates an octave apart the prior prefers the
// one closer to it (log-normal, one octave wide), which settles most double/half errors.
const PRIOR_CENTRE_BPM = 120
const PRIOR_WIDTH_OCTAVES = 1
// ~46 ms frames, ~12 ms hop: short enough to separate sixteenth notes at 200 BPM.
const FRAME_SECONDS = 0.046
const HOP_FRACTION = 4
// A band whose onsets are weaker than this only carries window ripple (a steady tone):
// onsets of music at -60 dBFS still measure ten times more.
const MIN_ENVELOPE_RMS = 0.002
// A beat lag whose autocorrelation is weaker than this is not a pulse a listener would hear.
const MIN_CONFIDENCE = 0.2
// Periods refined from the 2nd–4th multiples of the beat lag: four times the precision of one lag.
const MULTIPLES = 4
// Onsets are measured per band and the bands weighted alike, so a kick (a few low bins)
// counts as much as a snare or a hi-hat (hundreds of bins).
const BAND_EDGES_HZ = [30, 150, 400, 1000, 2500, 6000]
// Log compression of magnitudes before the flux, so quiet onsets count, not only the loudest.
const COMPRESSION = 100

function frameSize (sampleRate: number): number {
  return 2 ** Math.round(Math.log2(sampleRate * FRAME_SECONDS))
}

/**
 * Onset strength (spectral flux: how much log-magnitude rose since the previous frame, per
 * band), then the tempo whose period best explains its autocorrelation. Streaming: only the
 * band envelopes (six numbers per hop, ~500 a second) are kept.
 */
export function createTempoTracker (sampleRate: number): TempoTracker {
  const size = frameSize(sampleRate)
  const hop = size / HOP_FRACTION
  const bandOf = Uint8Array.from({ length: size / 2 + 1 }, (_, k) => {
    const hz = (k * sampleRate) / size
    return BAND_EDGES_HZ.filter((edge) => hz >= edge).length
  })
  const bandBins = BAND_EDGES_HZ.map((_, b) => bandOf.filter((band) => band === b + 1).length)
  const bands: number[][] = BAND_EDGES_HZ.map(() => [])
  let previous = new Float32Array(size / 2 + 1)
  let current = new Float32Array(size / 2 + 1)
  const flux = new Float64Array(BAND_EDGES_HZ.length + 1)
  let frames = 0
  const stft = createStft({
    size,
    hop,
    onFrame (magnitudes) {
      flux.fill(0)
      for (let k = 0; k < magnitudes.length; k++) {
        current[k] = Math.log1p(COMPRESSION * magnitudes[k]!)
        const band = bandOf[k]!
        if (frames > 0 && current[k]! > previous[k]!) flux[band] = flux[band]! + current[k]! - previous[k]!
      }
      bands.forEach((band, b) => band.push(bandBins[b]! > 0 ? flux[b + 1]! / bandBins[b]! : 0))
      const spare = previous
      previous = current
      current = spare
      frames++
    }
  })
  return {
    push: stft.push,
    estimate: () => tempoFromEnvelope(onsetEnvelope(bands, sampleRate / hop), sampleRate / hop)
  }
}

export function estimateTempo (samples: Float32Array, sampleRate: number): Tempo | null {
  const tracker = createTempoTracker(sampleRate)
  tracker.push(samples)
  return tracker.estimate()
}

/** Subtracts a one-second moving average and keeps what rises above it: the onsets. */
function detrend (envelope: number[], frameRate: number): Float64Array {
  const half = Math.round(frameRate / 2)
  const prefix = new Float64Array(envelope.length + 1)
  for (let t = 0; t < envelope.length; t++) prefix[t + 1] = prefix[t]! + envelope[t]!
  return Float64Array.from(envelope, (value, t) => {
    const from = Math.max(0, t - half)
    const to = Math.min(envelope.length, t + half + 1)
    return Math.max(0, value - (prefix[to]! - prefix[from]!) / (to - from))
  })
}

/** The bands' onsets, each scaled to unit RMS, summed, with the mean removed. */
function onsetEnvelope (bands: number[][], frameRate: number): Float64Array {
  const length = bands[0]?.length ?? 0
  const sum = new Float64Array(length)
  for (const band of bands) {
    const onsets = detrend(band, frameRate)
    const rms = Math.sqrt(onsets.reduce((acc, v) => acc + v * v, 0) / Math.max(1, length))
    if (rms < MIN_ENVELOPE_RMS) continue
    for (let t = 0; t < length; t++) sum[t] = sum[t]! + onsets[t]! / rms
  }
  // Rectified noise has a positive mean that would correlate at every lag.
  const mean = sum.reduce((acc, v) => acc + v, 0) / Math.max(1, length)
  return sum.map((v) => v - mean)
}

/** Vertex of the parabola through three neighbours: a fractional peak position. */
function refinePeak (values: Float64Array, at: number): number {
  const left = values[at - 1] ?? values[at]!
  const right = values[at + 1] ?? values[at]!
  const curvature = left - 2 * values[at]! + right
  if (curvature >= 0) return at
  return at + Math.max(-0.5, Math.min(0.5, (0.5 * (left - right)) / curvature))
}

function tempoFromEnvelope (onsets: Float64Array, frameRate: number): Tempo | null {
  const minLag = Math.floor((60 * frameRate) / MAX_BPM)
  const maxLag = Math.ceil((60 * frameRate) / MIN_BPM)
  const n = onsets.length
  if (n < 3 * maxLag) return null
  const lags = Math.min(n - 1, MULTIPLES * (maxLag + 1) + 2)
  const acf = new Float64Array(lags + 1)
  for (let lag = 0; lag <= lags; lag++) {
    let sum = 0
    for (let t = 0; t + lag < n; t++) sum += onsets[t]! * onsets[t + lag]!
    acf[lag] = sum / (n - lag)
  }
  const energy = acf[0]!
  if (!(energy > 0)) return null
  for (let lag = 0; lag <= lags; lag++) acf[lag] = acf[lag]! / energy

  let best = -1
  let bestScore = 0
  for (let lag = minLag; lag <= maxLag; lag++) {
    const isPeak = acf[lag]! >= acf[lag - 1]! && acf[lag]! >= (acf[lag + 1] ?? 0)
    const octaves = Math.log2((60 * frameRate) / lag / PRIOR_CENTRE_BPM) / PRIOR_WIDTH_OCTAVES
    const score = acf[lag]! * Math.exp(-0.5 * octaves * octaves)
    if (isPeak && score > bestScore) { best = lag; bestScore = score }
  }
  if (best < 0 || acf[best]! < MIN_CONFIDENCE) return null

  let lagSum = refinePeak(acf, best)
  let multipleSum = 1
  for (let multiple = 2; multiple <= MULTIPLES; multiple++) {
    const centre = Math.round((multiple * lagSum) / multipleSum)
    if (centre + 2 > lags) break
    let peak = centre - 2
    for (let lag = centre - 1; lag <= centre + 2; lag++) if (acf[lag]! > acf[peak]!) peak = lag
    if (acf[peak]! < 0.5 * acf[best]!) continue
    lagSum += refinePeak(acf, peak)
    multipleSum += multiple
  }
  return {
    bpm: (60 * frameRate * multipleSum) / lagSum,
    confidence: Math.min(1, acf[best]!)
  }
}
