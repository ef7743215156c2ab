import { deflateSync } from 'node:zlib'
import { languageName } from './languages.ts'
import type { Transcript, TranscriptSegment, TranscriptWord } from './transcript.ts'

/** The files every transcription job leaves, in the formats OpenAI's API answers with. */
export const TRANSCRIPT_ARTIFACTS = [
  { name: 'transcript.txt', contentType: 'text/plain; charset=utf-8' },
  { name: 'transcript.srt', contentType: 'application/x-subrip' },
  { name: 'transcript.vtt', contentType: 'text/vtt' },
  { name: 'transcript.json', contentType: 'application/json' },
  { name: 'transcript.verbose.json', contentType: 'application/json' }
] as const

export type TranscriptArtifactName = typeof TRANSCRIPT_ARTIFACTS[number]['name']

export interface CueOptions {
  /** Longer than this and a subtitle outstays the speech it shows. */
  maxCueSec?: number
  /** Broadcast subtitle guidelines: two lines of at most 42 characters. */
  maxLineChars?: number
}

export interface Cue {
  start: number
  end: number
  lines: string[]
}

export interface VerboseJsonSegment {
  id: number
  seek: number
  start: number
  end: number
  text: string
  tokens: number[]
  temperature: number
  avg_logprob: number
  compression_ratio: number
  no_speech_prob: number
}

export interface VerboseJson {
  task: 'transcribe'
  language: string
  duration: number
  text: string
  segments: VerboseJsonSegment[]
  words?: Array<{ word: string, start: number, end: number }>
}

const MIN_CONFIDENCE = 1e-6

function clock (seconds: number, separator: ',' | '.'): string {
  const ms = Math.max(0, Math.round(seconds * 1000))
  const two = (n: number) => String(n).padStart(2, '0')
  return `${two(Math.floor(ms / 3_600_000))}:${two(Math.floor(ms / 60_000) % 60)}:${two(Math.floor(ms / 1000) % 60)}${separator}${String(ms % 1000).padStart(3, '0')}`
}

export const srtTime = (seconds: number): string => clock(seconds, ',')
export const vttTime = (seconds: number): string => clock(seconds, '.')

/** Two balanced lines, or undefined when the words do not fit; a single overlong word stands alone. */
function wrap (words: string[], maxChars: number): string[] | undefined {
  const text = words.join(' ')
  if (text.length <= maxChars || words.length === 1) return [text]
  let best: string[] | undefined
  for (let k = 1; k < words.length; k++) {
    const lines = [words.slice(0, k).join(' '), words.slice(k).join(' ')]
    const longest = Math.max(...lines.map((l) => l.length))
    if (longest <= maxChars && (!best || longest < Math.max(...best.map((l) => l.length)))) best = lines
  }
  return best
}

/** A segment without word timings gets them spread over its span by word length. */
function spreadWords (segment: TranscriptSegment): TranscriptWord[] {
  const words = segment.text.split(/\s+/).filter(Boolean)
  const weight = words.reduce((sum, w) => sum + w.length + 1, 0)
  let at = segment.start
  return words.map((word) => {
    const start = at
    at += ((segment.end - segment.start) * (word.length + 1)) / weight
    return { word, start, end: at, confidence: 1 }
  })
}

/** Pure: subtitle cues, splitting long segments at word boundaries by time and line length. */
export function toCues (transcript: Transcript, options: CueOptions = {}): Cue[] {
  const maxSec = options.maxCueSec ?? 7
  const maxChars = options.maxLineChars ?? 42
  const cues: Cue[] = []
  for (const segment of transcript.segments) {
    const words = segment.words.length > 0 ? segment.words : spreadWords(segment)
    let current: TranscriptWord[] = []
    const flush = () => {
      const first = current[0]
      const last = current.at(-1)
      if (!first || !last) return
      cues.push({ start: first.start, end: Math.max(first.start, last.end), lines: wrap(current.map((w) => w.word), maxChars) ?? [] })
      current = []
    }
    for (const word of words) {
      const first = current[0]
      if (first && (word.end - first.start > maxSec || !wrap([...current, word].map((w) => w.word), maxChars))) flush()
      current.push(word)
    }
    flush()
  }
  return cues
}

export function toText (transcript: Transcript): string {
  return transcript.text ? `${transcript.text}\n` : ''
}

export function toSrt (transcript: Transcript, options?: CueOptions): string {
  return toCues(transcript, options)
    .map((cue, i) => `${i + 1}\n${srtTime(cue.start)} --> ${srtTime(cue.end)}\n${cue.lines.join('\n')}\n`)
    .join('\n')
}

const escapeVtt = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')

export function toVtt (transcript: Transcript, options?: CueOptions): string {
  const cues = toCues(transcript, options)
    .map((cue, i) => `${i + 1}\n${vttTime(cue.start)} --> ${vttTime(cue.end)}\n${cue.lines.map(escapeVtt).join('\n')}\n`)
  return ['WEBVTT\n', ...cues].join('\n')
}

export function toJson (transcript: Transcript): { text: string } {
  return { text: transcript.text }
}

const round = (value: number, digits: number) => Number(value.toFixed(digits))

/** Whisper's own repetition check: raw bytes over zlib-compressed bytes (loops compress well). */
function compressionRatio (text: string): number {
  const bytes = Buffer.from(text, 'utf8')
  return bytes.length === 0 ? 0 : round(bytes.length / deflateSync(bytes).length, 4)
}

/**
 * OpenAI's verbose_json. Engines without token log-probabilities report avg_logprob as the mean
 * log of their word confidences, which keeps its meaning (0 is certain, more negative is
 * less sure); no_speech_prob is 0 because segments come only from stretches found to hold sound.
 */
export function toVerboseJson (transcript: Transcript, options: { words?: boolean } = {}): VerboseJson {
  const segments = transcript.segments.map((segment): VerboseJsonSegment => {
    const logs = segment.words.map((w) => Math.log(Math.max(MIN_CONFIDENCE, w.confidence)))
    return {
      id: segment.id,
      seek: Math.round(segment.start * 100),
      start: segment.start,
      end: segment.end,
      text: segment.text,
      tokens: [],
      temperature: 0,
      avg_logprob: logs.length > 0 ? round(logs.reduce((a, b) => a + b, 0) / logs.length, 4) : 0,
      compression_ratio: compressionRatio(segment.text),
      no_speech_prob: 0
    }
  })
  return {
    task: 'transcribe',
    language: languageName(transcript.language),
    duration: transcript.duration,
    text: transcript.text,
    segments,
    ...(options.words ? { words: transcript.segments.flatMap((s) => s.words.map(({ word, start, end }) => ({ word, start, end }))) } : {})
  }
}

/** Pure: every artifact's bytes, so the engines write them and tests read them the same way. */
export function renderTranscriptFiles (transcript: Transcript, options: { words?: boolean } = {}): Array<{ name: TranscriptArtifactName, contentType: string, body: string }> {
  const bodies: Record<TranscriptArtifactName, string> = {
    'transcript.txt': toText(transcript),
    'transcript.srt': toSrt(transcript),
    'transcript.vtt': toVtt(transcript),
    'transcript.json': `${JSON.stringify(toJson(transcript))}\n`,
    'transcript.verbose.json': `${JSON.stringify(toVerboseJson(transcript, options))}\n`
  }
  return TRANSCRIPT_ARTIFACTS.map(({ name, contentType }) => ({ name, contentType, body: bodies[name] }))
}
