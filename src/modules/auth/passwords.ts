import { hash, verify, type Algorithm } from '@node-rs/argon2'
import { dictionary } from '@zxcvbn-ts/language-common'

// OWASP Password Storage Cheat Sheet minimum for argon2id: m=19 MiB, t=2, p=1.
// (2 is Algorithm.Argon2id; the package exports it as a const enum, which type stripping cannot inline.)
export const ARGON2_OPTIONS = { algorithm: 2 as Algorithm, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const

export const PASSWORD_MIN = 12
export const PASSWORD_MAX = 256

const COMMON = new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()))

/** NIST SP 800-63B style: length and a blocklist, no composition rules. Returns the problem, or undefined. */
export function passwordProblem (password: string, email?: string): string | undefined {
  const length = [...password].length
  if (length < PASSWORD_MIN) return `Password must be at least ${PASSWORD_MIN} characters`
  if (length > PASSWORD_MAX) return `Password must be at most ${PASSWORD_MAX} characters`
  const lower = password.toLowerCase()
  if (COMMON.has(lower)) return 'Password is on the list of commonly used passwords; choose another'
  if (/^(.)\1+$/u.test(password)) return 'Password must not be one repeated character'
  if (email) {
    const local = email.toLowerCase().split('@')[0] ?? ''
    if (lower === email.toLowerCase() || (local.length >= 4 && lower.includes(local) && lower.length - local.length < 6)) {
      return 'Password must not be derived from the email address'
    }
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
