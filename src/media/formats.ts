import path from 'node:path'
import type { AudioFormat } from '../db/schema.ts'

export const AUDIO_FORMATS: readonly AudioFormat[] = ['mp3', 'wav', 'flac', 'aac', 'ogg', 'm4a', 'wma']

interface FormatRule {
  /** What file-type may report for the bytes of a file with this extension. */
  detected: readonly string[]
  contentType: string
}

// The extension names a family; the magic bytes must belong to it. file-type reports an
// MP4 container as m4a or mp4 depending on its brand, ADTS AAC as aac, and ASF (WMA) as asf.
const RULES: Readonly<Record<AudioFormat, FormatRule>> = {
  mp3: { detected: ['mp3'], contentType: 'audio/mpeg' },
  wav: { detected: ['wav'], contentType: 'audio/wav' },
  flac: { detected: ['flac'], contentType: 'audio/flac' },
  aac: { detected: ['aac'], contentType: 'audio/aac' },
  ogg: { detected: ['ogg', 'oga', 'opus'], contentType: 'audio/ogg' },
  m4a: { detected: ['m4a', 'mp4', 'm4b'], contentType: 'audio/mp4' },
  wma: { detected: ['asf', 'wma'], contentType: 'audio/x-ms-wma' }
}

/** The format named by the last extension (`x.php.mp3` is judged as mp3), or undefined. */
export function formatFromName (name: string): AudioFormat | undefined {
  const ext = path.extname(name).slice(1).toLowerCase()
  return (AUDIO_FORMATS as readonly string[]).includes(ext) ? ext as AudioFormat : undefined
}

export function magicMatches (format: AudioFormat, detectedExt: string | undefined): boolean {
  return detectedExt !== undefined && RULES[format].detected.includes(detectedExt)
}

/** The allowed format whose family the detected type belongs to, if any. */
export function formatFromDetected (detectedExt: string | undefined): AudioFormat | undefined {
  return AUDIO_FORMATS.find((format) => magicMatches(format, detectedExt))
}

export const contentTypeOf = (format: AudioFormat): string => RULES[format].contentType

const MAX_NAME_BYTES = 255
/** Longest client file name intake accepts at all (UTF-8 bytes); longer ones are refused, not cut. */
export const MAX_CLIENT_NAME_BYTES = 1024
// The longest extension kept when a name is cut; a longer "extension" is part of the stem.
const MAX_EXTENSION_CHARS = 16
// Path separators, C0/C1 controls, and the Unicode format characters that reorder or hide
// text (bidi overrides and isolates, zero-width joiners, BOM).
const UNSAFE_CHARS = /[/\\\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g // eslint-disable-line no-control-regex
const utf8 = new TextEncoder()

/** The longest prefix of `text` that fits in `maxBytes` of UTF-8, cut between characters. */
function utf8Prefix (text: string, maxBytes: number): string {
  // encodeInto writes whole characters only and reports how much of the string it consumed:
  // one pass, however long the text (a loop dropping a character at a time was quadratic).
  const { read } = utf8.encodeInto(text, new Uint8Array(maxBytes))
  return text.slice(0, read)
}

/**
 * The client's file name as display metadata: NFC-normalised, without separators, controls,
 * bidi tricks or leading dots, at most 255 bytes of UTF-8 (cut on a character boundary,
 * keeping the extension). Never used to build a path: storage names are UUIDs.
 */
export function sanitiseFileName (raw: string, fallback = 'audio'): string {
  const name = raw.normalize('NFC').replace(UNSAFE_CHARS, '').trim().replace(/^[.\s]+/, '')
  if (!name) return fallback
  if (Buffer.byteLength(name) <= MAX_NAME_BYTES) return name
  const extension = path.extname(name)
  const ext = extension.length <= MAX_EXTENSION_CHARS ? extension : ''
  return utf8Prefix(name.slice(0, name.length - ext.length), MAX_NAME_BYTES - Buffer.byteLength(ext)) + ext
}
