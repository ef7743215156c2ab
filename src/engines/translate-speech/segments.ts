import { toSrt, toText, toVtt } from '../transcribe/transcript-formats.ts'
import type { Transcript, TranscriptSegment } from '../transcribe/transcript.ts'
import { roundMs } from '../transcribe/transcript.ts'

/** One recognised segment and its translation, timed by the speech in the source. */
export interface TranslatedSegment {
  id: number
  /** Seconds: when the source's speech in this segment begins and ends. */
  start: number
  end: number
  source: string
  text: string
}

/**
 * When the speech of a segment begins and ends: its first and last word where the recogniser
 * timed words (a segment's own bounds include the silence around it, which the source's
 * subtitles leave out), else the segment's bounds.
 */
export function speechSpan (segment: TranscriptSegment): { start: number, end: number } {
  const first = segment.words[0]
  const last = segment.words.at(-1)
  if (!first || !last) return { start: segment.start, end: segment.end }
  return { start: first.start, end: Math.max(first.start, last.end) }
}

/** Pure: pairs each segment with its translation (same order, same count). */
export function translatedSegments (transcript: Transcript, translations: string[]): TranslatedSegment[] {
  if (translations.length !== transcript.segments.length) throw new Error(`${translations.length} translations for ${transcript.segments.length} segments`)
  return transcript.segments.map((segment, i) => {
    const span = speechSpan(segment)
    return { id: i, start: roundMs(span.start), end: roundMs(span.end), source: segment.text, text: (translations[i] ?? '').trim() }
  })
}

/**
 * The translation as a transcript in the target language, so it is written by the same
 * formatters as the source: each cue keeps its segment's times, a long segment is split into
 * cues by the translated words spread over its span (they carry no timings of their own).
 */
export function translatedTranscript (source: Transcript, segments: TranslatedSegment[], language: string): Transcript {
  const kept = segments.filter((s) => s.text !== '')
  return {
    ...source,
    language,
    text: kept.map((s) => s.text).join(' '),
    segments: kept.map((s, id) => ({ id, start: s.start, end: s.end, text: s.text, words: [] }))
  }
}

/** Pure: the subtitle and text files of a translation. */
export function translationFiles (translation: Transcript): Array<{ name: string, contentType: string, body: string }> {
  return [
    { name: 'translation.txt', contentType: 'text/plain; charset=utf-8', body: toText(translation) },
    { name: 'translation.srt', contentType: 'application/x-subrip', body: toSrt(translation) },
    { name: 'translation.vtt', contentType: 'text/vtt', body: toVtt(translation) }
  ]
}
