/**
 * Long signals are separated in overlapping chunks, so memory holds a chunk, not the track,
 * and several chunks can run at once. Neighbours overlap by `OVERLAP_SECONDS` and are
 * cross-faded there with sin²/cos² ramps, which sum to exactly one: since each chunk's stems
 * sum to the chunk, the faded stems still sum to the mixture.
 */

/** Samples between chunk starts: long enough for REPET-SIM to find repetitions (bars, loops). */
export const CHUNK_SECONDS = 12
/** The cross-fade between neighbours. */
export const OVERLAP_SECONDS = 2
/** A remainder shorter than this is not a chunk of its own: the last chunk takes it in. */
export const LAST_CHUNK_EXTRA_SECONDS = 4

export interface ChunkGeometry {
  step: number
  overlap: number
  extra: number
}

export function chunkGeometry (sampleRate: number): ChunkGeometry {
  return {
    step: Math.round(CHUNK_SECONDS * sampleRate),
    overlap: Math.round(OVERLAP_SECONDS * sampleRate),
    extra: Math.round(LAST_CHUNK_EXTRA_SECONDS * sampleRate)
  }
}

export interface ChunkSpan {
  index: number
  start: number
  end: number
  /** Whether the chunk fades in over its first `overlap` samples (every chunk but the first). */
  fadeIn: boolean
  /** Whether it fades out over its last `overlap` samples (every chunk but the last). */
  fadeOut: boolean
}

/**
 * The most samples from a chunk's start to the end of the signal for which that chunk is the
 * last one: a streaming reader that holds more than this past a start knows another follows.
 */
export const lastChunkReach = (g: ChunkGeometry) => g.step + g.overlap + g.extra

/** The chunk starting at `start` (index `index`), given how many samples remain from there. */
export function chunkAt (index: number, start: number, remaining: number, g: ChunkGeometry): ChunkSpan {
  const last = remaining <= lastChunkReach(g)
  return { index, start, end: start + (last ? remaining : g.step + g.overlap), fadeIn: index > 0, fadeOut: !last }
}

/** Every chunk of a signal of `length` samples. */
export function chunkPlan (length: number, g: ChunkGeometry): ChunkSpan[] {
  const spans: ChunkSpan[] = []
  for (let index = 0, start = 0; ; index++, start += g.step) {
    const span = chunkAt(index, start, length - start, g)
    spans.push(span)
    if (!span.fadeOut) return spans
  }
}

/** Applies a chunk's fades to one of its signals (a stem's channel), in place. */
export function applyFades (signal: Float32Array, span: ChunkSpan, overlap: number): void {
  const length = signal.length
  for (let n = 0; n < overlap && n < length; n++) {
    const angle = (Math.PI / 2) * ((n + 0.5) / overlap)
    if (span.fadeIn) signal[n] = signal[n]! * Math.sin(angle) ** 2
    if (span.fadeOut) {
      const at = length - overlap + n
      if (at >= 0) signal[at] = signal[at]! * Math.cos(angle) ** 2
    }
  }
}
