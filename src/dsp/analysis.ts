import { createKeyTracker, type Key } from './key.ts'
import { createLevelMeter, type ChannelLevel } from './levels.ts'
import { createPeakCollector, type ChannelPeaks } from './peaks.ts'
import { createTempoTracker, type Tempo } from './tempo.ts'

/**
 * Tempo and key are read from the first ten minutes: a song is shorter, and over a longer
 * recording (a DJ mix, a concert, a podcast) one global tempo or key means little, while
 * the cost would grow with every hour.
 */
export const TONAL_WINDOW_SECONDS = 600

export interface AnalysisOptions {
  channels: number
  sampleRate: number
  /** Rate of the mono signal given to `pushMono` (tempo and key). */
  monoSampleRate: number
  /** Waveform buckets per channel. */
  buckets: number
  silenceThresholdDb?: number
  /** Seconds of mono audio read for tempo and key; TONAL_WINDOW_SECONDS unless told. */
  tonalWindowSeconds?: number
}

export interface AnalysisResult {
  /** Frames actually analysed. */
  frames: number
  levels: ChannelLevel[]
  silenceRatio: number
  tempo: Tempo | null
  key: Key | null
  peaks: ChannelPeaks[]
}

export interface Analysis {
  /** Interleaved samples of every channel at `sampleRate`, whole frames, in order. */
  pushPcm: (interleaved: Float32Array) => void
  /** The same audio mixed to mono at `monoSampleRate`; what lies past the tonal window is ignored. */
  pushMono: (samples: Float32Array) => void
  finish: () => AnalysisResult
}

/** Everything measured from the samples, fed in chunks so that no whole file is held in memory. */
export function createAnalysis (options: AnalysisOptions): Analysis {
  const meter = createLevelMeter({ channels: options.channels, sampleRate: options.sampleRate, silenceThresholdDb: options.silenceThresholdDb })
  const peaks = createPeakCollector({ channels: options.channels, maxBlocks: 16 * options.buckets })
  const tempo = createTempoTracker(options.monoSampleRate)
  const key = createKeyTracker(options.monoSampleRate)
  const monoLimit = (options.tonalWindowSeconds ?? TONAL_WINDOW_SECONDS) * options.monoSampleRate
  let frames = 0
  let monoSamples = 0
  return {
    pushPcm (interleaved) {
      meter.push(interleaved)
      peaks.push(interleaved)
      frames += interleaved.length / options.channels
    },
    pushMono (samples) {
      const kept = samples.subarray(0, Math.max(0, monoLimit - monoSamples))
      monoSamples += kept.length
      tempo.push(kept)
      key.push(kept)
    },
    finish () {
      const levels = meter.result()
      return {
        frames,
        levels: levels.channels,
        silenceRatio: levels.silenceRatio,
        tempo: tempo.estimate(),
        key: key.estimate(),
        peaks: peaks.buckets(options.buckets)
      }
    }
  }
}
