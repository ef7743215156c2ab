import { DURATION_MAX_SEC, DURATION_MIN_SEC, TEMPO_MAX, TEMPO_MIN } from './plan.ts'
import { normalisePrompt, PROMPT_MAX_CHARS } from './prompt.ts'
import { SEED_MAX } from './random.ts'
import { KEY_PATTERN } from './theory.ts'

export { checkGenerateParams, generateEngine, type GenerateOptions, type GenerateParams, type GenerateResult } from './generate.engine.ts'

/** The bounds of the generate params, for the job schema and the CLI. */
export const GENERATE_LIMITS = {
  promptMaxChars: PROMPT_MAX_CHARS,
  durationMinSec: DURATION_MIN_SEC,
  durationMaxSec: DURATION_MAX_SEC,
  tempoMin: TEMPO_MIN,
  tempoMax: TEMPO_MAX,
  seedMax: SEED_MAX,
  keyPattern: KEY_PATTERN,
  // At least one character that is not a control, format or space character: a prompt of
  // nothing but those is not text (a client's encoding bug), so it is refused, not composed.
  printablePattern: '[^\\p{Cc}\\p{Cf}\\p{Z}\\s]',
  normalisePrompt
} as const
