export interface Loudness {
  /** Integrated loudness, LUFS; null when nothing passes the -70 LUFS gate (silence). */
  integratedLufs: number | null
  /** Loudness range, LU; null for silence. */
  rangeLu: number | null
  /** Maximum true peak, dBTP; null for digital silence. */
  truePeakDbtp: number | null
}

// ffmpeg prints the absolute gate itself, -70.0, when no block is above it.
const ABSOLUTE_GATE_LUFS = -70

function value (summary: string, pattern: RegExp): number | null {
  const text = pattern.exec(summary)?.[1]
  if (text === undefined) return null
  const n = Number(text)
  return Number.isFinite(n) ? n : null
}

/**
 * Pure: the summary that ffmpeg's `ebur128=peak=true` filter prints on stderr at the end of
 * a run, or undefined when there is none (ffmpeg stopped before the end).
 */
export function parseEbur128Summary (stderr: string): Loudness | undefined {
  const at = stderr.lastIndexOf('Summary:')
  if (at < 0) return undefined
  const summary = stderr.slice(at)
  const number = String.raw`(-?(?:\d+(?:\.\d+)?|inf)|nan)`
  const integrated = value(summary, new RegExp(String.raw`\bI:\s+${number}\s+LUFS`))
  const range = value(summary, new RegExp(String.raw`\bLRA:\s+${number}\s+LU\b`))
  const peak = value(summary, new RegExp(String.raw`\bPeak:\s+${number}\s+dBFS`))
  const silent = integrated === null || integrated <= ABSOLUTE_GATE_LUFS
  return {
    integratedLufs: silent ? null : integrated,
    rangeLu: silent ? null : range,
    truePeakDbtp: peak
  }
}
