/**
 * Median filters over a spectrogram stored frame by frame (`cells[frame * bins + bin]`).
 * Windows are truncated at the edges rather than zero-padded: a chunk's first and last frames
 * are cross-faded away anyway, and zeros would pull their medians down.
 */

const SMALL = 16

/** Median of `values[0…count)`, reordering them (quickselect: linear on average). */
export function medianInPlace (values: Float32Array, count: number): number {
  if (count <= 0) return 0
  if (count <= SMALL) {
    // Insertion sort: for the dozen values of a REPET-SIM median, faster than partitioning.
    for (let i = 1; i < count; i++) {
      const v = values[i]!
      let j = i
      for (; j > 0 && values[j - 1]! > v; j--) values[j] = values[j - 1]!
      values[j] = v
    }
    const mid = count >> 1
    return count % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2
  }
  const k = count >> 1
  let lo = 0
  let hi = count - 1
  while (lo < hi) {
    const pivot = values[(lo + hi) >> 1]!
    let i = lo
    let j = hi
    while (i <= j) {
      while (values[i]! < pivot) i++
      while (values[j]! > pivot) j--
      if (i <= j) {
        const t = values[i]!
        values[i] = values[j]!
        values[j] = t
        i++
        j--
      }
    }
    if (k <= j) hi = j
    else if (k >= i) lo = i
    else break
  }
  const upper = values[k]!
  if (count % 2 === 1) return upper
  // Even count: the mean of the two middle values; the lower one is the largest of the rest.
  let lower = -Infinity
  for (let n = 0; n < k; n++) if (values[n]! > lower) lower = values[n]!
  return (lower + upper) / 2
}

/**
 * The median of every window of `width` values centred on each position of `values` into
 * `out`, with a sorted copy of the window slid along: one value leaves and one enters per
 * step, a short shift each, instead of a selection over the whole window.
 */
export function slidingMedian (values: Float32Array, width: number, out: Float32Array, sorted = new Float32Array(width)): void {
  const n = values.length
  const half = width >> 1
  let size = 0
  let next = 0
  const position = (v: number) => {
    let lo = 0
    let hi = size
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (sorted[mid]! < v) lo = mid + 1
      else hi = mid
    }
    return lo
  }
  for (let t = 0; t < n; t++) {
    if (t - half - 1 >= 0) {
      const gone = position(values[t - half - 1]!)
      size--
      for (let at = gone; at < size; at++) sorted[at] = sorted[at + 1]!
    }
    for (const last = Math.min(n - 1, t + half); next <= last; next++) {
      const v = values[next]!
      let at = size++
      for (; at > 0 && sorted[at - 1]! > v; at--) sorted[at] = sorted[at - 1]!
      sorted[at] = v
    }
    const mid = size >> 1
    out[t] = size % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  }
}

/** Each bin's median over `width` frames centred on each frame (width odd). */
export function medianAcrossTime (cells: Float32Array, frames: number, bins: number, width: number, out: Float32Array = new Float32Array(frames * bins)): Float32Array {
  const column = new Float32Array(frames)
  const filtered = new Float32Array(frames)
  const sorted = new Float32Array(width)
  for (let k = 0; k < bins; k++) {
    for (let t = 0; t < frames; t++) column[t] = cells[t * bins + k]!
    slidingMedian(column, width, filtered, sorted)
    for (let t = 0; t < frames; t++) out[t * bins + k] = filtered[t]!
  }
  return out
}

/** The median over `width` bins centred on each bin of one frame (width odd). */
export function medianAcrossFrequency (frame: Float32Array, width: number, out: Float32Array, sorted = new Float32Array(width)): void {
  slidingMedian(frame, width, out, sorted)
}
