export interface ChannelPeaks {
  channel: number
  /** Lowest sample of each bucket, -1…1. */
  min: Float32Array
  /** Highest sample of each bucket, -1…1. */
  max: Float32Array
}

export interface PeakCollector {
  /** Interleaved samples, whole frames, chunks of any length. */
  push: (interleaved: Float32Array) => void
  /** The whole signal in `count` buckets per channel; empty arrays when nothing was pushed. */
  buckets: (count: number) => ChannelPeaks[]
}

/**
 * Min/max per block, regrouped into buckets at the end. The length is known only once the
 * stream ends (a probed duration can be wrong or missing), so blocks start at one sample and
 * double, merging in pairs, whenever `maxBlocks` are full: memory stays at `maxBlocks` per
 * channel for any length. Ask for at least eight times the buckets you will draw, and the
 * buckets differ in width by at most one block in eight.
 */
export function createPeakCollector ({ channels, maxBlocks }: { channels: number, maxBlocks: number }): PeakCollector {
  if (!(Number.isInteger(maxBlocks) && maxBlocks >= 2 && maxBlocks % 2 === 0)) throw new RangeError(`maxBlocks must be an even number ≥ 2, got ${maxBlocks}`)
  const mins = Array.from({ length: channels }, () => new Float32Array(maxBlocks))
  const maxs = Array.from({ length: channels }, () => new Float32Array(maxBlocks))
  const blockMin = new Float64Array(channels).fill(Infinity)
  const blockMax = new Float64Array(channels).fill(-Infinity)
  let blockLength = 1
  let blocks = 0
  let inBlock = 0

  const halve = () => {
    for (let c = 0; c < channels; c++) {
      const min = mins[c]!
      const max = maxs[c]!
      for (let b = 0; b < blocks / 2; b++) {
        min[b] = Math.min(min[2 * b]!, min[2 * b + 1]!)
        max[b] = Math.max(max[2 * b]!, max[2 * b + 1]!)
      }
    }
    blocks /= 2
    blockLength *= 2
  }

  const closeBlock = () => {
    if (blocks === maxBlocks) halve()
    for (let c = 0; c < channels; c++) {
      mins[c]![blocks] = blockMin[c]!
      maxs[c]![blocks] = blockMax[c]!
    }
    blocks++
    blockMin.fill(Infinity)
    blockMax.fill(-Infinity)
    inBlock = 0
  }

  return {
    push (interleaved) {
      if (interleaved.length % channels !== 0) throw new RangeError('push whole frames: the length must be a multiple of the channel count')
      for (let i = 0; i < interleaved.length; i += channels) {
        for (let c = 0; c < channels; c++) {
          const value = interleaved[i + c]!
          if (value < blockMin[c]!) blockMin[c] = value
          if (value > blockMax[c]!) blockMax[c] = value
        }
        // After a halving, the block being filled simply runs on to the new length.
        if (++inBlock >= blockLength) closeBlock()
      }
    },
    buckets (count) {
      if (inBlock > 0) closeBlock()
      return Array.from({ length: channels }, (_, channel) => {
        const min = new Float32Array(blocks > 0 ? count : 0)
        const max = new Float32Array(blocks > 0 ? count : 0)
        for (let b = 0; b < min.length; b++) {
          // Fewer blocks than buckets (a short file): a block spans several buckets.
          const from = Math.floor((b * blocks) / count)
          const to = Math.max(from + 1, Math.floor(((b + 1) * blocks) / count))
          let low = Infinity
          let high = -Infinity
          for (let k = from; k < to; k++) {
            low = Math.min(low, mins[channel]![k]!)
            high = Math.max(high, maxs[channel]![k]!)
          }
          min[b] = low
          max[b] = high
        }
        return { channel, min, max }
      })
    }
  }
}
