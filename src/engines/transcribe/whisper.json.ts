/**
 * Pure: reads the JSON whisper.cpp's CLI writes with `-oj -ojf` (examples/cli/cli.cpp,
 * output_json): `result.language`, and `transcription[]` segments with `offsets` in
 * milliseconds, `text`, and `tokens[]` carrying `text`, `offsets`, `id`, `p`, `t_dtw`.
 *
 * Two quirks of that writer shape the parser. Token texts are raw tokenizer bytes, so a
 * character outside ASCII can be split across tokens and the file is not always valid UTF-8:
 * it is read as latin1 (one char per byte), and each word's bytes are decoded once whole. And
 * the writer escapes only `"` and `\`, so a control character inside a string is escaped here
 * before JSON.parse sees it.
 */
import { roundMs } from './transcript.ts'
import type { TranscriptSegment, TranscriptWord } from './transcript.ts'

interface RawToken { text?: unknown, offsets?: { from?: unknown, to?: unknown }, p?: unknown }
interface RawSegment { offsets?: { from?: unknown, to?: unknown }, text?: unknown, tokens?: RawToken[] }
interface RawOutput { result?: { language?: unknown }, transcription?: RawSegment[] }

export interface WhisperParse {
  /** What whisper detected or was told; undefined when it transcribed nothing (then it is unreliable). */
  language: string | undefined
  segments: TranscriptSegment[]
}

// Languages written without spaces between words: each token that completes characters is a word.
const UNSPACED = new Set(['zh', 'ja', 'th', 'lo', 'my', 'km', 'bo', 'yue'])
// Special tokens print as [_BEG_], [_TT_550], [_SOT_], [_EOT_], [_LANG_en]...
const SPECIAL = /^\[_.*\]$/
// Whole segments that are sound annotations, not speech: [BLANK_AUDIO], [Music].
const ANNOTATION = /^\[[^\]]*\]$/
const WORDLIKE = /[\p{L}\p{N}]/u

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })
const utf8 = (latin1: string) => Buffer.from(latin1, 'latin1').toString('utf8')
const clean = (text: string) => text.replace(/[\p{Cc}\s]+/gu, ' ').trim()
const isWholeUtf8 = (latin1: string) => {
  try { strictUtf8.decode(Buffer.from(latin1, 'latin1')); return true } catch { return false }
}
const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined)

function escapeControlsInStrings (json: string): string {
  let out = ''
  let inString = false
  let escaped = false
  for (const ch of json) {
    const code = ch.charCodeAt(0)
    if (inString && !escaped && code < 0x20) { out += `\\u${code.toString(16).padStart(4, '0')}`; continue }
    if (inString && !escaped && ch === '"') inString = false
    else if (!inString && ch === '"') inString = true
    escaped = inString && !escaped && ch === '\\'
    out += ch
  }
  return out
}

interface Pending { bytes: string, start?: number, end?: number, p: number[] }

function segmentWords (tokens: RawToken[], start: number, end: number, unspaced: boolean): TranscriptWord[] {
  const pending: Pending[] = []
  let current: Pending | undefined
  for (const token of tokens) {
    const text = typeof token.text === 'string' ? token.text : ''
    if (!text || SPECIAL.test(text)) continue
    const startsWord = !current || text.startsWith(' ') || (unspaced && isWholeUtf8(current.bytes))
    if (startsWord) { current = { bytes: '', p: [] }; pending.push(current) }
    if (!current) continue
    current.bytes += text
    current.p.push(num(token.p) ?? 0)
    // whisper.cpp sometimes leaves a token without offsets (issue 2329): the word keeps its neighbours'.
    const from = num(token.offsets?.from)
    const to = num(token.offsets?.to)
    if (from !== undefined) current.start ??= from / 1000
    if (to !== undefined) current.end = to / 1000
  }

  const words: TranscriptWord[] = []
  let carry = ''
  for (const item of pending) {
    const text = clean(utf8(carry + item.bytes))
    const previous = words.at(-1)
    // Punctuation standing alone (" -", an opening quote) joins its neighbour, as OpenAI's words do.
    if (!WORDLIKE.test(text)) {
      if (previous) previous.word += text
      else carry += item.bytes
      continue
    }
    carry = ''
    const after = previous?.end ?? start
    const wordStart = Math.min(end, Math.max(after, item.start ?? after))
    const wordEnd = Math.min(end, Math.max(wordStart, item.end ?? wordStart))
    const confidence = item.p.reduce((a, b) => a + b, 0) / item.p.length
    words.push({ word: text, start: roundMs(wordStart), end: roundMs(wordEnd), confidence: Math.round(confidence * 1000) / 1000 })
  }
  return words
}

/** Segments with word timings; word confidence is the mean of its tokens' probabilities `p`. */
export function parseWhisperJson (bytes: Uint8Array, requestedLanguage?: string): WhisperParse {
  const json = Buffer.from(bytes).toString('latin1')
  let raw: RawOutput
  try {
    raw = JSON.parse(json) as RawOutput
  } catch {
    raw = JSON.parse(escapeControlsInStrings(json)) as RawOutput
  }
  if (!Array.isArray(raw.transcription)) throw new Error('whisper.cpp output has no transcription array')
  const detected = typeof raw.result?.language === 'string' && raw.transcription.length > 0 ? raw.result.language : undefined
  const language = detected ?? requestedLanguage
  const unspaced = UNSPACED.has(language ?? '')
  const segments: TranscriptSegment[] = []
  for (const segment of raw.transcription) {
    const text = clean(utf8(typeof segment.text === 'string' ? segment.text : ''))
    if (!text || ANNOTATION.test(text)) continue
    const start = (num(segment.offsets?.from) ?? 0) / 1000
    const end = Math.max(start, (num(segment.offsets?.to) ?? 0) / 1000)
    const words = segmentWords(Array.isArray(segment.tokens) ? segment.tokens : [], start, end, unspaced)
    segments.push({ id: segments.length, start: roundMs(start), end: roundMs(end), text, words })
  }
  return { language, segments }
}

const PRINTED_SEGMENT = /^\[(\d+):(\d\d):(\d\d)\.(\d{3}) --> (\d+):(\d\d):(\d\d)\.(\d{3})\]\s(.*)$/
const printedTime = (h: string, m: string, s: string, ms: string) => Number(h) * 3600 + Number(m) * 60 + Number(s) + Number(ms) / 1000

/**
 * A segment as the CLI prints it to stdout the moment it is decoded
 * (`[00:00:01.000 --> 00:00:04.000]  text`), for partial results: text and times, no words
 * (those come with the JSON at the end). Sound annotations and other lines are undefined.
 */
export function parsePrintedSegment (line: string): { start: number, end: number, text: string, words: [] } | undefined {
  const match = PRINTED_SEGMENT.exec(line)
  if (!match) return undefined
  const [, h1, m1, s1, ms1, h2, m2, s2, ms2, rawText] = match as unknown as string[]
  const text = clean(rawText ?? '')
  if (!text || ANNOTATION.test(text)) return undefined
  const start = printedTime(h1!, m1!, s1!, ms1!)
  return { start: roundMs(start), end: roundMs(Math.max(start, printedTime(h2!, m2!, s2!, ms2!))), text, words: [] }
}
