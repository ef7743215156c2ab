export interface ChannelLevel {
  /** 0-based, in the file's channel order. */
  channel: number
  /** null for digital silence: JSON has no -Infinity. */
  rmsDb: number | null
  peakDb: number | null
}

export interface Levels {
  channels: ChannelLevel[]
  /** Fraction of frames in which every channel is below the silence threshold, 0–1. */
  silenceRatio: number
}

export interface LevelsOptions {
  channels: number
  sampleRate: number
  /** dBFS (RMS of a frame) below which a frame counts as silent. */
  silenceThresholdDb?: number
  frameSeconds?: number
}

export interface LevelMeter {
  /** Interleaved samples, whole frames (a multiple of `channels`), chunks of any length. */
  push: (interleaved: Float32Array) => void
  result: () => Levels
}

export const DEFAULT_SILENCE_THRESHOLD_DB = -50
const DEFAULT_FRAME_SECONDS = 0.05

/** 20·log10 of an amplitude (1 = full scale), or null for zero. */
export function amplitudeToDb (amplitude: number): number | null {
  return amplitude > 0 ? 20 * Math.log10(amplitude) : null
}

/**
 * Per-channel RMS and sample peak over the whole signal, and how much of it is silence.
 * Sums are kept in float64: hours of float32 squares would lose precision.
 */
export function createLevelMeter (options: LevelsOptions): LevelMeter {
  const { channels } = options
  const frameLength = Math.max(1, Math.round(options.sampleRate * (options.frameSeconds ?? DEFAULT_FRAME_SECONDS)))
  const threshold = 10 ** ((options.silenceThresholdDb ?? DEFAULT_SILENCE_THRESHOLD_DB) / 20)
  // A frame is silent when its loudest channel is: compare sums of squares, no sqrt per frame.
  const thresholdSum = threshold * threshold * frameLength
  const sumSquares = new Float64Array(channels)
  const peaks = new Float64Array(channels)
  const frameSquares = new Float64Array(channels)
  let sampleFrames = 0
  let inFrame = 0
  let frames = 0
  let silentFrames = 0

  // A short last frame is judged by its mean, as if it were full length.
  const frameIsSilent = () => frameSquares.every((sum) => (sum * frameLength) / inFrame < thresholdSum)

  return {
    push (interleaved) {
      if (interleaved.length % channels !== 0) throw new RangeError('push whole frames: the length must be a multiple of the channel count')
      for (let i = 0; i < interleaved.length; i += channels) {
        for (let c = 0; c < channels; c++) {
          const value = interleaved[i + c]!
          const square = value * value
          sumSquares[c] = sumSquares[c]! + square
          frameSquares[c] = frameSquares[c]! + square
          const magnitude = Math.abs(value)
          if (magnitude > peaks[c]!) peaks[c] = magnitude
        }
        sampleFrames++
        if (++inFrame === frameLength) {
          frames++
          if (frameIsSilent()) silentFrames++
          frameSquares.fill(0)
          inFrame = 0
        }
      }
    },
    result () {
      const levels = Array.from({ length: channels }, (_, channel) => ({
        channel,
        rmsDb: sampleFrames > 0 ? amplitudeToDb(Math.sqrt(sumSquares[channel]! / sampleFrames)) : null,
        peakDb: amplitudeToDb(peaks[channel]!)
      }))
      const total = frames + (inFrame > 0 ? 1 : 0)
      const silent = silentFrames + (inFrame > 0 && frameIsSilent() ? 1 : 0)
      return { channels: levels, silenceRatio: total > 0 ? silent / total : 1 }
    }
  }
}
