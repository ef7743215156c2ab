import { ZxcvbnFactory } from '@zxcvbn-ts/core'
import * as common from '@zxcvbn-ts/language-common'
import * as en from '@zxcvbn-ts/language-en'

export const MIN_SECRET_BYTES = 32
export const MIN_SECRET_BITS = 128

// Words that only a template or a tutorial puts in a secret. Seven letters or more, so that a
// random base64 value contains one with negligible probability (about 1e-9 per value).
const PLACEHOLDER = /change.?me|replace|example|placeholder|generate|openssl|your.?(?:secret|token|key)/i

let estimator: ZxcvbnFactory | undefined
// The start-up check and `tympan doctor` judge the same few values more than once, and
// zxcvbn takes tens of milliseconds for a 64-character value.
const verdicts = new Map<string, string | undefined>()

/**
 * zxcvbn's estimate, in bits, of the guesses an attacker needs. It finds what makes a value
 * guessable: repeats (`aaaa…`), sequences, keyboard walks, dictionary words and phrases, and
 * prices the rest as brute force at 10 per character, so it underestimates random text:
 * `openssl rand -base64 48` scores about 210 bits, `-hex 32` about 200, 32 random bytes in
 * base64url 128 to 140 (so it can fall short), while `openssl rand -hex 16` (32 characters)
 * scores about 100. Measured over 400 values each: -base64 48 never below 207, -hex 32 never
 * below 196.
 * l33t substitutions are capped: uncapped, random base64 (full of digits that read as
 * letters) takes seconds a value; a secret that hides a word in l33t still loses to repeats.
 */
export function estimatedBits (value: string): number {
  estimator ??= new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...en.dictionary },
    graphs: common.adjacencyGraphs,
    l33tMaxSubstitutions: 8
  })
  return estimator.check(value).guessesLog10 * Math.log2(10)
}

/**
 * Pure policy: why `value` is not fit to be a production secret, or undefined. The reason
 * never quotes the value: it ends up on stderr and in service logs.
 */
export function secretWeakness (value: string): string | undefined {
  if (!verdicts.has(value)) verdicts.set(value, judge(value))
  return verdicts.get(value)
}

function judge (value: string): string | undefined {
  const bytes = Buffer.byteLength(value)
  if (bytes < MIN_SECRET_BYTES) return `is shorter than ${MIN_SECRET_BYTES} bytes`
  if (PLACEHOLDER.test(value)) return 'is a placeholder, not a secret: generate one with `openssl rand -base64 48`'
  const bits = Math.floor(estimatedBits(value))
  if (bits < MIN_SECRET_BITS) {
    return `is guessable (about ${bits} bits estimated, at least ${MIN_SECRET_BITS} needed: no repeats, sequences or words): generate one with \`openssl rand -base64 48\``
  }
  return undefined
}
