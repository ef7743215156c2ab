// The flatness rule of bench/soak, pure so that it is tested and can be applied again to the
// samples a run printed (node bench/soak/run.ts --from-log FILE).

export interface Sample { at: number, rss: number, heap: number, fds: number }
export type Measure = 'rss' | 'heap' | 'fds'

export interface MeasureVerdict {
  measure: Measure
  start: number
  /** The first window after warm-up, and the last window: medians (for heap, minima). */
  baseline: number
  end: number
  peak: number
  flat: boolean
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export const WARM_UP_SHARE = 0.2
export const WINDOW_SHARE = 0.2
export const GROWTH_ALLOWED = 0.15
/** Descriptors are counted, not scaled: ffmpeg's pipes come and go with the work in flight. */
export const FD_SLACK = 8

/**
 * Pure: flat or not, per measure. Warm-up: the first 20% of the run (at least 60 s). The
 * first and the last 20% of the samples after it are compared: the last may be at most 15%
 * above the first for memory, and at most 8 descriptors more (a count: 15% of ~230 would
 * hide a leak of one a minute). RSS and fds compare medians. The V8 heap is a
 * garbage-collection sawtooth whose period (about 12 minutes under the soak's load) is longer
 * than a window, so its median depends on where the window falls in a cycle: it compares the
 * floor, the lowest sample of each window, which is the live set after a major collection and
 * what a leak raises.
 */
export function flatness (samples: readonly Sample[], runSeconds: number): { warmUpSec: number, window: number, verdicts: MeasureVerdict[] } {
  const warmUpSec = Math.max(60, runSeconds * WARM_UP_SHARE)
  const steady = samples.filter((s) => s.at >= warmUpSec)
  const window = Math.max(1, Math.round(steady.length * WINDOW_SHARE))
  const verdicts = (['rss', 'heap', 'fds'] as const).map((measure): MeasureVerdict => {
    const values = steady.map((s) => s[measure])
    const summary = measure === 'heap' ? (v: number[]) => Math.min(...v) : median
    const baseline = summary(values.slice(0, window))
    const end = summary(values.slice(-window))
    const flat = steady.length >= 2 && end <= (measure === 'fds' ? baseline + FD_SLACK : baseline * (1 + GROWTH_ALLOWED))
    return { measure, start: samples[0]?.[measure] ?? NaN, baseline, end, peak: Math.max(...samples.map((s) => s[measure])), flat }
  })
  return { warmUpSec, window, verdicts }
}

const MiB = 1024 * 1024

/** Pure: the samples from a run's printed lines (`12.3 min: rss 600.1 MiB, heap 90.2 MiB, fds 230`). */
export function samplesFromLog (log: string): Sample[] {
  return [...log.matchAll(/^ {2}(\d+(?:\.\d+)?) min: rss (\d+(?:\.\d+)?) MiB, heap (\d+(?:\.\d+)?) MiB, fds (\d+)$/gm)]
    .map((m) => ({ at: Number(m[1]) * 60, rss: Number(m[2]) * MiB, heap: Number(m[3]) * MiB, fds: Number(m[4]) }))
}
