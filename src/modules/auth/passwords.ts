import { hash, verify, type Algorithm } from '@node-rs/argon2'
import { ZxcvbnFactory, type ZxcvbnResult } from '@zxcvbn-ts/core'
import { adjacencyGraphs, dictionary as commonDictionary } from '@zxcvbn-ts/language-common'
import { dictionary as englishDictionary, translations } from '@zxcvbn-ts/language-en'

// OWASP Password Storage Cheat Sheet minimum for argon2id: m=19 MiB, t=2, p=1.
// (2 is Algorithm.Argon2id; the package exports it as a const enum, which type stripping cannot inline.)
export const ARGON2_OPTIONS = { algorithm: 2 as Algorithm, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const

export const PASSWORD_MIN = 12
export const PASSWORD_MAX = 256

/**
 * zxcvbn's score 3 of 4: an estimated 10^8 guesses or more. Sign-in guessing is throttled
 * (LOGIN_MAX_FAILURES per email and address) and the hashes are argon2id, so 10^8 puts both
 * the online and an offline attack out of reach, while a four-word passphrase of ordinary
 * words still scores 4. Score 4 would also refuse passwords a person can remember
 * ("Summer2024!!" scores 3), which pushes them to write passwords down (NIST SP 800-63B).
 */
export const PASSWORD_MIN_SCORE = 3

// Matching cost grows steeply with length and with l33t characters: with zxcvbn's defaults a
// random 256-character password took 2.5 s of CPU. Only the first 64 characters are judged
// (a longer password is at least as strong as its start) and at most 4 l33t readings are
// tried per substring, which keeps the worst 256-character input at about 30 ms and still
// finds "p@$$w0rd"-style words. Measured in passwords.test.ts.
const JUDGED_CHARS = 64
const L33T_READINGS = 4

// Ranking the dictionaries takes ~0.25 s, so they are loaded once, on the first check.
let estimator: ZxcvbnFactory | undefined
const strength = (): ZxcvbnFactory => estimator ??= new ZxcvbnFactory({
  dictionary: { ...commonDictionary, ...englishDictionary },
  graphs: adjacencyGraphs,
  translations,
  maxLength: JUDGED_CHARS,
  l33tMaxSubstitutions: L33T_READINGS
})

/** The email and its pieces: a password built from them is guessed first. */
function userInputs (email: string | undefined): string[] {
  if (!email) return ['tympan']
  const lower = email.toLowerCase()
  const [local = '', domain = ''] = lower.split('@')
  const pieces = [...local.split(/[^\p{L}\p{N}]+/u), ...domain.split('.').slice(0, -1)].filter((p) => p.length >= 3)
  return [...new Set([lower, local, ...pieces, 'tympan'])]
}

/**
 * The password with every known piece blanked out, or undefined when it holds none. zxcvbn
 * scores a reordered email ("smith.alexandra2024") as strong, so what is left must be strong alone.
 */
function withoutInputs (password: string, inputs: string[]): string | undefined {
  const lower = password.toLowerCase()
  const rest = [...inputs].sort((a, b) => b.length - a.length).reduce((left, piece) => left.replaceAll(piece, ' '), lower)
  return rest === lower ? undefined : rest
}

function refusal (result: ZxcvbnResult): string {
  const personal = result.sequence.some((match) => 'dictionaryName' in match && match.dictionaryName === 'userInputs')
  const warning = personal ? 'It contains your email address or a part of it.' : result.feedback.warning
  const advice = result.feedback.suggestions.length > 0 ? result.feedback.suggestions : ['Add another word or two; uncommon words are better.']
  return ['Password is too easy to guess.', warning, ...advice].filter(Boolean).join(' ')
}

/**
 * NIST SP 800-63B style: length and a strength estimate, no composition rules. zxcvbn
 * refuses common passwords, dictionary words with digits or dates, keyboard walks,
 * repeats, sequences and l33t spellings of them, and anything built from the email.
 * Returns the problem with zxcvbn's advice, or undefined.
 */
export function passwordProblem (password: string, email?: string): string | undefined {
  const length = [...password].length
  if (length < PASSWORD_MIN) return `Password must be at least ${PASSWORD_MIN} characters`
  if (length > PASSWORD_MAX) return `Password must be at most ${PASSWORD_MAX} characters`
  const inputs = userInputs(email)
  const result = strength().check(password, inputs)
  if (result.score < PASSWORD_MIN_SCORE) return refusal(result)
  const rest = withoutInputs(password, inputs)
  if (rest !== undefined && strength().check(rest, inputs).score < PASSWORD_MIN_SCORE) {
    return 'Password is too easy to guess. It is built on your email address, and the rest alone is weak. Add more words that are less common.'
  }
  return undefined
}

export const hashPassword = (password: string): Promise<string> => hash(password, ARGON2_OPTIONS)

export async function verifyPassword (stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password)
  } catch {
    return false
  }
}

// Verified against when the account does not exist, so that a wrong email costs the same
// time as a wrong password (no user enumeration by timing).
let dummyHash: Promise<string> | undefined
export function dummyPasswordHash (): Promise<string> {
  dummyHash ??= hashPassword('tympan-dummy-password-never-matches')
  return dummyHash
}
