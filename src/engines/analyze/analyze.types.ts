import type { Key } from '../../dsp/key.ts'
import type { ChannelLevel } from '../../dsp/levels.ts'
import type { Tempo } from '../../dsp/tempo.ts'
import type { Loudness } from './ebur128.ts'
import type { AudioFacts } from './facts.ts'

export interface AnalyzeParams {
  /** dBFS below which a 50 ms frame counts as silence; -50 unless told. */
  silenceThresholdDb?: number
}

/**
 * What an analysis reports. JSON carries no NaN or -Infinity, so every measure of silence
 * (the loudness of nothing, the dB of zero) is null.
 */
export interface AnalyzeResult extends AudioFacts {
  /** Decoded length, not the container's claim. */
  durationSec: number
  loudness: Loudness
  levels: ChannelLevel[]
  silenceRatio: number
  /** From the first ten minutes. */
  tempo: Tempo | null
  key: Key | null
}

/** `waveform.json`: min/max per bucket and channel, for a web UI to draw at any width. */
export interface WaveformDocument {
  durationSec: number
  sampleRate: number
  channels: number
  buckets: number
  peaks: Array<{ channel: number, min: number[], max: number[] }>
}
