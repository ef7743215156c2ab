import type { AnalysisResult } from '../../dsp/analysis.ts'
import type { AnalyzeResult, WaveformDocument } from './analyze.types.ts'
import type { Loudness } from './ebur128.ts'
import type { AudioFacts } from './facts.ts'

const round = (value: number, digits: number) => {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}
const roundOrNull = (value: number | null, digits: number) => value === null ? null : round(value, digits)

/** Pure: the facts, the loudness and the DSP's findings as one result, rounded to what is meaningful. */
export function shapeResult (facts: AudioFacts, loudness: Loudness, analysis: AnalysisResult): AnalyzeResult {
  return {
    format: facts.format,
    codec: facts.codec,
    durationSec: round(analysis.frames / facts.sampleRate, 3),
    sampleRate: facts.sampleRate,
    channels: facts.channels,
    bitRate: facts.bitRate,
    tags: facts.tags,
    loudness: {
      integratedLufs: roundOrNull(loudness.integratedLufs, 1),
      rangeLu: roundOrNull(loudness.rangeLu, 1),
      truePeakDbtp: roundOrNull(loudness.truePeakDbtp, 1)
    },
    levels: analysis.levels.map((level) => ({ channel: level.channel, rmsDb: roundOrNull(level.rmsDb, 1), peakDb: roundOrNull(level.peakDb, 1) })),
    silenceRatio: round(analysis.silenceRatio, 3),
    tempo: analysis.tempo && { bpm: round(analysis.tempo.bpm, 1), confidence: round(analysis.tempo.confidence, 2) },
    key: analysis.key && { ...analysis.key, confidence: round(analysis.key.confidence, 2) }
  }
}

/** Pure: the waveform artifact. Four decimals are below a pixel at any height a screen has. */
export function waveformDocument (analysis: AnalysisResult, sampleRate: number): WaveformDocument {
  return {
    durationSec: round(analysis.frames / sampleRate, 3),
    sampleRate,
    channels: analysis.peaks.length,
    buckets: analysis.peaks[0]?.min.length ?? 0,
    peaks: analysis.peaks.map((peaks) => ({
      channel: peaks.channel,
      min: Array.from(peaks.min, (v) => round(v, 4)),
      max: Array.from(peaks.max, (v) => round(v, 4))
    }))
  }
}
