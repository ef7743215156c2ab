import { EngineError } from '../engine.ts'
import type { Pair, Route } from './routes.ts'

/**
 * Text translation, synchronous and in memory: the HTTP route, `tympan translate-text` and
 * the speech-translation job all speak to it. Codes in and out are canonical (ISO 639-1 where
 * one exists, see languages.ts); a code the engine cannot place is `invalid-input`.
 */
export interface Translator {
  /** Installed pairs and reachable routes. */
  languages: () => Promise<{ pairs: Pair[], routes: Route[] }>
  /** The languages a translation passes through, both ends included (`['fr', 'es', 'en']`), or undefined. */
  route: (from: string, to: string) => Promise<string[] | undefined>
  translate: (text: string, from: string, to: string, opts: { signal: AbortSignal }) => Promise<{ translation: string, route: string[] }>
  /** Many segments in one Apertium run per hop, split back faithfully (same count, same order). */
  translateMany: (texts: string[], from: string, to: string, opts: { signal: AbortSignal }) => Promise<{ translations: string[], route: string[] }>
}

/** One text of `translate`, after trimming, and each segment of `translateMany`. */
export const MAX_TEXT_CHARS = 5000
// A batch is a whole transcript: four hours of speech (MAX_DURATION_SECONDS) at a fast
// speaker's ~15 characters a second is about 216 000 characters.
export const MAX_BATCH_CHARS = 250_000
export const MAX_BATCH_TEXTS = 20_000

/** Characters as a person counts them (code points), which is also how the schemas count. */
export const characters = (text: string): number => {
  let n = 0
  for (const _ of text) n++
  return n
}

/**
 * Why a text cannot be translated, in words for its author, or undefined when it can. NUL is
 * Apertium's flush mark: the pipeline stops reading at it, so a text holding one would come
 * back cut short. Every other character, control characters included, is translated as text.
 */
export function textProblem (text: string, options: { allowEmpty?: boolean } = {}): string | undefined {
  const trimmed = text.trim()
  if (trimmed === '' && !options.allowEmpty) return 'text is empty: send 1 to 5000 characters (leading and trailing whitespace does not count)'
  const count = characters(trimmed)
  if (count > MAX_TEXT_CHARS) return `text is ${count} characters long after trimming; the limit is ${MAX_TEXT_CHARS}`
  if (trimmed.includes('\u0000')) return 'text contains a NUL character (U+0000), which cannot be translated'
  return undefined
}

export function assertText (text: string, options: { allowEmpty?: boolean } = {}): string {
  const problem = textProblem(text, options)
  if (problem) throw new EngineError('invalid-input', problem.charAt(0).toUpperCase() + problem.slice(1))
  return text.trim()
}
