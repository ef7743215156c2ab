import type { StemName } from '../../dsp/separation/index.ts'

export type StemFormat = 'wav' | 'flac' | 'mp3'

export interface SeparateParams {
  stems?: 2 | 4
  format?: StemFormat
}

/** The job's result, and `summary.json`. */
export interface SeparateResult {
  /** Which implementation separated: `tympan-dsp` here; a neural adapter names its model. */
  method: string
  stems: StemName[]
  format: StemFormat
  sampleRate: number
  channels: number
  durationSec: number
  /** Each stem's share of the stems' total energy, 0–1 (all 0 for silence). */
  energyShare: Partial<Record<StemName, number>>
  chunking: { chunkSeconds: number, overlapSeconds: number, chunks: number, workers: number }
  frame: { size: number, hop: number }
}
