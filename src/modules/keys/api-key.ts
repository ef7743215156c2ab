import { hash, randomBytes } from 'node:crypto'

// `tym_<id>_<secret>`: the prefix lets secret scanners and people recognise a Tympan key;
// the id is public (lists, audit); the secret is 256 bits from the CSPRNG.
const PREFIX = 'tym_'
const FORMAT = /^tym_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/

export interface ParsedKey {
  id: string
  secret: string
}

export const newKeyId = (): string => randomBytes(6).toString('hex')
export const newKeySecret = (): string => randomBytes(32).toString('base64url')
export const formatKey = (id: string, secret: string): string => `${PREFIX}${id}_${secret}`

export function parseKey (value: string): ParsedKey | undefined {
  const match = FORMAT.exec(value)
  return match ? { id: match[1] as string, secret: match[2] as string } : undefined
}

export const looksLikeApiKey = (value: string): boolean => value.startsWith(PREFIX)

// A fast hash is right here: the secret already has 256 bits of entropy, so there is nothing
// for a slow hash to protect, and every authenticated request pays for this one.
export const hashKeySecret = (secret: string): string => hash('sha256', secret)

/** Display form of a key: enough to recognise it, nothing to use it. */
export const keyDisplayId = (id: string): string => `${PREFIX}${id}`
export const keyIdOf = (displayId: string): string | undefined => displayId.startsWith(PREFIX) ? displayId.slice(PREFIX.length) : undefined
