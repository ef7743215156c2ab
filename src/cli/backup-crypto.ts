import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
import { Readable } from 'node:stream'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption'
import { secretWeakness } from '../config/secret-strength.ts'

/**
 * Encrypted backups (`tympan admin backup --encrypt`), with age (age-encryption.org/v1, the
 * age-encryption library by age's author), so an operator can also open every file with the
 * `age` CLI. Each backup has its own X25519 key: every file is an age file to that key, and
 * key.age holds the key itself, as an age file to the operator's passphrase or recipients.
 * One scrypt per backup instead of one per file (scrypt costs about a second by design), and
 * the process that writes the files (the running server, for an online backup) only ever
 * gets the public half: neither the passphrase nor the backup's secret key leaves the CLI.
 *
 * age authenticates each file's content but not who wrote it: anyone who knows a public key
 * can write a file to it. So the manifest, which lists each file's size and sha256 (of the
 * ciphertext), carries an HMAC under a key derived from the backup's secret key: a file
 * swapped for another one, removed, or a manifest edited is refused before anything is used.
 */

/** What the operator seals a new backup's key with. */
export type BackupSecret = { passphrase: string } | { recipients: string[] }
/** What opens a backup's key.age. */
export type RestoreSecret = { passphrase: string } | { identities: string[] }

/** All a writer of an encrypted backup needs: nothing that decrypts it. */
export interface BackupSealing {
  /** How key.age is sealed, recorded in the manifest so restore can ask for the right thing. */
  sealedWith: 'passphrase' | 'recipients'
  /** age1…: every file of the backup is encrypted to it. */
  recipient: string
  /** The contents of key.age, base64. */
  keyFile: string
  /** HMAC-SHA256 key of the manifest, base64: it can forge a manifest, never decrypt a file. */
  macKey: string
}

/** The opened key of an encrypted backup. */
export interface BackupKey {
  decrypter: Decrypter
  macKey: Buffer
}

const MAC_INFO = 'tympan-backup manifest hmac v1'
const RECIPIENT = /^age1[0-9a-z]+$/
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
const IDENTITY = /^AGE-SECRET-KEY-(?:PQ-)?1[0-9A-Z]+$/

export class BackupKeyError extends Error {
  override name = 'BackupKeyError'
}

/** Pure policy: why `passphrase` cannot seal a backup, or undefined. Never quotes it. */
export function passphraseWeakness (passphrase: string): string | undefined {
  const weakness = secretWeakness(passphrase)
  return weakness && `The backup passphrase ${weakness}. A backup is copied off the machine and attacked offline, so it needs a secret as strong as the server's keys.`
}

/** A new backup key, sealed with `secret`. Refuses a weak passphrase and a malformed recipient. */
export async function newBackupKey (secret: BackupSecret): Promise<BackupSealing> {
  const sealer = new Encrypter()
  if ('passphrase' in secret) {
    const weakness = passphraseWeakness(secret.passphrase)
    if (weakness) throw new BackupKeyError(weakness)
    sealer.setPassphrase(secret.passphrase)
  } else {
    if (secret.recipients.length === 0) throw new BackupKeyError('--encrypt needs a passphrase or at least one recipient')
    for (const recipient of secret.recipients) {
      const problem = RECIPIENT.test(recipient) ? recipientProblem(sealer, recipient) : 'it does not start with age1'
      if (problem) throw new BackupKeyError(`${JSON.stringify(recipient.slice(0, 80))} is not an age recipient (age1…, from age-keygen -y): ${problem}`)
    }
  }
  const identity = await generateX25519Identity()
  let keyFile: Uint8Array
  try {
    keyFile = await sealer.encrypt(`${identity}\n`)
  } catch (error) {
    throw new BackupKeyError(`cannot encrypt to the given recipients: ${(error as Error).message}`)
  }
  return {
    sealedWith: 'passphrase' in secret ? 'passphrase' : 'recipients',
    recipient: await identityToRecipient(identity),
    keyFile: Buffer.from(keyFile).toString('base64'),
    macKey: macKeyOf(identity).toString('base64')
  }
}

// key.age to many post-quantum recipients is a few KiB; the control socket takes at most this.
const MAX_KEY_FILE_BASE64 = 32_768

/** A BackupSealing read from the control socket, or why it is not one (never quoting it). */
export function parseSealing (value: unknown): BackupSealing | string {
  const v = value as Partial<BackupSealing> | null
  if (typeof v !== 'object' || v === null) return 'the encryption is not an object'
  if (v.sealedWith !== 'passphrase' && v.sealedWith !== 'recipients') return 'the encryption names no valid sealing'
  if (typeof v.recipient !== 'string' || !RECIPIENT.test(v.recipient)) return 'the encryption has no valid recipient'
  if (typeof v.keyFile !== 'string' || v.keyFile.length > MAX_KEY_FILE_BASE64 || !BASE64.test(v.keyFile)) return 'the encryption has no valid key file'
  if (typeof v.macKey !== 'string' || !BASE64.test(v.macKey) || Buffer.from(v.macKey, 'base64').length !== 32) return 'the encryption has no valid MAC key'
  return { sealedWith: v.sealedWith, recipient: v.recipient, keyFile: v.keyFile, macKey: v.macKey }
}

function recipientProblem (sealer: Encrypter, recipient: string): string | undefined {
  try {
    sealer.addRecipient(recipient)
    return undefined
  } catch (error) {
    return (error as Error).message
  }
}

/** Opens key.age with `secret`, or a BackupKeyError that says why it cannot. */
export async function openBackupKey (keyFile: Uint8Array, secret: RestoreSecret): Promise<BackupKey> {
  const opener = new Decrypter()
  if ('passphrase' in secret) {
    opener.addPassphrase(secret.passphrase)
  } else {
    for (const identity of secret.identities) opener.addIdentity(identity)
  }
  let identity: string
  try {
    identity = (await opener.decrypt(keyFile, 'text')).trim()
  } catch {
    throw new BackupKeyError('passphrase' in secret
      ? 'the passphrase does not open this backup\'s key.age (a wrong passphrase, or key.age was altered)'
      : 'none of the identities opens this backup\'s key.age (not a key it was encrypted to, or key.age was altered)')
  }
  if (!IDENTITY.test(identity)) throw new BackupKeyError('key.age does not hold an age identity')
  const decrypter = new Decrypter()
  decrypter.addIdentity(identity)
  return { decrypter, macKey: macKeyOf(identity) }
}

const macKeyOf = (identity: string): Buffer => Buffer.from(hkdfSync('sha256', identity, '', MAC_INFO, 32))

/** The manifest's HMAC-SHA256 (hex) over its own JSON text without the `mac` field. */
export function manifestMac (unsigned: object, macKey: Buffer): string {
  return createHmac('sha256', macKey).update(JSON.stringify(unsigned)).digest('hex')
}

export function macMatches (unsigned: object, mac: string, macKey: Buffer): boolean {
  const expected = Buffer.from(manifestMac(unsigned, macKey), 'hex')
  const given = Buffer.from(mac, 'hex')
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/** `plain` encrypted to `recipient` as an age file, streamed. */
export async function encryptStream (plain: Readable, recipient: string): Promise<Readable> {
  const encrypter = new Encrypter()
  encrypter.addRecipient(recipient)
  const sealed = await encrypter.encrypt(Readable.toWeb(plain) as ReadableStream<Uint8Array>)
  return Readable.fromWeb(sealed as WebReadableStream<Uint8Array>)
}

/** An age file decrypted, streamed: a flipped bit or a cut-off end errors the stream ("invalid tag"). */
export async function decryptStream (sealed: Readable, key: BackupKey): Promise<Readable> {
  const plain = await key.decrypter.decrypt(Readable.toWeb(sealed) as ReadableStream<Uint8Array>)
  return Readable.fromWeb(plain as WebReadableStream<Uint8Array>)
}

/** Lines of an age recipients or identities file, without comments and blank lines. */
export function keyLines (text: string): string[] {
  return text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'))
}

/** Validates a secret key line from an identity file, never quoting it. */
export function checkIdentity (line: string, file: string): string {
  if (!IDENTITY.test(line)) throw new BackupKeyError(`${file} holds a line that is not an age identity (AGE-SECRET-KEY-1…, from age-keygen); passphrase-protected identity files are not supported`)
  return line
}
