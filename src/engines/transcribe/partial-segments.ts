import type { TranscriptSegment } from './transcript.ts'

export type Unnumbered = Omit<TranscriptSegment, 'id'>

/**
 * Hands segments to `emit` in source order as soon as every earlier one is known, numbered as
 * the final transcript numbers them (segments where nothing was recognised are skipped and
 * take no id). Segments decoded in parallel finish out of order: `put(index, segment)` with
 * `undefined` for an empty one.
 */
export function inOrder (emit: (segment: TranscriptSegment) => void) {
  const ready = new Map<number, Unnumbered | undefined>()
  let next = 0
  let id = 0
  return {
    put (index: number, segment: Unnumbered | undefined): void {
      if (index < next || ready.has(index)) return
      ready.set(index, segment)
      while (ready.has(next)) {
        const found = ready.get(next)
        ready.delete(next)
        next += 1
        if (found) emit({ id: id++, ...found })
      }
    }
  }
}

/** The engine's partial-result reporter for one segment; undefined when nobody streams. */
export function segmentReporter (partial: ((data: Record<string, unknown>) => void) | undefined) {
  return partial ? inOrder((segment) => { partial({ segment }) }) : undefined
}
