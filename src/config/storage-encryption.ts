import { createHmac, createSecretKey, type KeyObject } from 'node:crypto'
import fs from 'node:fs'

/** A master key of the object store's encryption at rest, and its public fingerprint. */
export interface StorageKey {
  /** First 8 bytes of HMAC-SHA256(key, "tympan storage key id"), hex: names the key in rows and messages, never reveals it. */
  id: string
  /** A KeyObject, so that logging or serialising the config shows no key bytes. */
  secret: KeyObject
}

export interface StorageEncryption {
  /** The key new objects are written under; undefined when encryption at rest is off. */
  current: StorageKey | undefined
  /** Older keys (STORAGE_ENCRYPTION_PREVIOUS_KEYS) that still unwrap rows until `tympan admin rotate-storage-key` re-wraps them. */
  previous: StorageKey[]
}

export const storageKeyId = (key: Buffer): string =>
  createHmac('sha256', key).update('tympan storage key id').digest().subarray(0, 8).toString('hex')

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/**
 * Pure: the keys in `value` (base64 of exactly 32 bytes each, separated by commas or line
 * breaks), or a problem naming `name` and the key's position. A problem never quotes the
 * value: a mistyped key is still mostly a key.
 */
export function parseStorageKeys (value: string, name: string): StorageKey[] | { problem: string } {
  const entries = value.split(/[,\n\r]/).map((entry) => entry.trim()).filter(Boolean)
  const keys: StorageKey[] = []
  for (const [index, entry] of entries.entries()) {
    const which = entries.length > 1 ? `${name} (key ${index + 1} of ${entries.length})` : name
    if (!BASE64.test(entry) || entry.length % 4 !== 0) return { problem: `${which} is not base64 (generate one with: openssl rand -base64 32)` }
    const bytes = Buffer.from(entry, 'base64')
    if (bytes.length !== 32) return { problem: `${which} decodes to ${bytes.length} bytes, not 32 (generate one with: openssl rand -base64 32)` }
    keys.push({ id: storageKeyId(bytes), secret: createSecretKey(bytes) })
    bytes.fill(0)
  }
  return keys
}

/** Pure: the configured keys from the two variables' values, or the problems found. */
export function parseStorageEncryption (current: string, previous: string): StorageEncryption | { problems: string[] } {
  const currentKeys = parseStorageKeys(current, 'STORAGE_ENCRYPTION_KEY')
  const previousKeys = parseStorageKeys(previous, 'STORAGE_ENCRYPTION_PREVIOUS_KEYS')
  const problems = [currentKeys, previousKeys].flatMap((parsed) => 'problem' in parsed ? [parsed.problem] : [])
  if ('problem' in currentKeys || 'problem' in previousKeys) return { problems }
  if (currentKeys.length > 1) return { problems: ['STORAGE_ENCRYPTION_KEY holds more than one key: older keys go in STORAGE_ENCRYPTION_PREVIOUS_KEYS'] }
  const [key] = currentKeys
  if (!key && previousKeys.length > 0) return { problems: ['STORAGE_ENCRYPTION_PREVIOUS_KEYS is set without STORAGE_ENCRYPTION_KEY: set the new key too'] }
  // The current key listed again among the old ones (a half-done rotation) is kept once.
  const previousOnly = previousKeys.filter((old, index) => old.id !== key?.id && previousKeys.findIndex((k) => k.id === old.id) === index)
  return { current: key, previous: previousOnly }
}

const KEY_FILES = { STORAGE_ENCRYPTION_KEY_FILE: 'STORAGE_ENCRYPTION_KEY', STORAGE_ENCRYPTION_PREVIOUS_KEYS_FILE: 'STORAGE_ENCRYPTION_PREVIOUS_KEYS' } as const

/**
 * The environment with each `*_FILE` of the storage keys read into its variable (for
 * systemd credentials, Docker secrets, a file only the service user reads). Both forms of
 * one variable at once is a refusal; in production so is a key file that its group or
 * others may read. Messages name the file, never its content.
 */
export function withStorageKeyFiles (source: Record<string, string | undefined>): { source: Record<string, string | undefined> } | { problem: string } {
  const out = { ...source }
  for (const [fileVar, valueVar] of Object.entries(KEY_FILES)) {
    const file = source[fileVar]
    if (!file) continue
    if (source[valueVar]) return { problem: `${valueVar} and ${fileVar} are both set: set one` }
    let stat: fs.Stats
    try {
      stat = fs.statSync(file)
    } catch (error) {
      return { problem: `${fileVar} ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }
    }
    if (!stat.isFile()) return { problem: `${fileVar} ${file} is not a file` }
    if (source.TYMPAN_ENV === 'production' && (stat.mode & 0o077) !== 0) {
      return { problem: `${fileVar} ${file} may be read by its group or others (mode ${(stat.mode & 0o777).toString(8)}): chmod 600 it (or 400)` }
    }
    out[valueVar] = fs.readFileSync(file, 'utf8')
    delete out[fileVar]
  }
  return { source: out }
}
