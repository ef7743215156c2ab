/** What every transcription engine returns: times in seconds, rounded to milliseconds. */

/**
 * How pocketsphinx searches: `fast` has the most room under the speed target at a bounded
 * error rate, `accurate` makes a few errors fewer for ~15% more CPU (docs/performance.md).
 */
export const TRANSCRIBE_QUALITIES = ['fast', 'accurate'] as const
export type TranscribeQuality = typeof TRANSCRIBE_QUALITIES[number]
export const DEFAULT_QUALITY: TranscribeQuality = 'fast'
export const isTranscribeQuality = (value: string): value is TranscribeQuality => (TRANSCRIBE_QUALITIES as readonly string[]).includes(value)

export interface TranscribeParams {
  /** ISO 639-1 code; engines that detect the language take undefined as "detect". */
  language?: string
  /** Text that biases the recogniser (whisper); engines without biasing ignore it. */
  prompt?: string
  temperature?: number
  /** Include word timings in verbose_json (they are always in the result). */
  wordTimestamps?: boolean
  /** pocketsphinx's search (DEFAULT_QUALITY when absent); whisper ignores it. */
  quality?: TranscribeQuality
}

export interface TranscriptWord {
  word: string
  start: number
  end: number
  /** 0–1: how sure the engine is of this word (see each engine for what it measures). */
  confidence: number
}

export interface TranscriptSegment {
  id: number
  start: number
  end: number
  text: string
  words: TranscriptWord[]
}

export interface Transcript {
  text: string
  segments: TranscriptSegment[]
  /** ISO 639-1. */
  language: string
  duration: number
  engine: 'pocketsphinx' | 'whisper'
}

export const roundMs = (seconds: number): number => Math.round(seconds * 1000) / 1000
