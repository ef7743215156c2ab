/**
 * manifest.json of a backup (`tympan admin backup`): what the directory must hold, each file
 * with its size and sha256. Restore trusts nothing else in the directory: object paths are
 * built from validated UUIDs, never read from the manifest, so an edited manifest cannot
 * name a file outside the backup or the data directory.
 */
export const MANIFEST = 'manifest.json'
export const DATABASE_DUMP = 'database.tar.gz'
/** An encrypted backup's own key, sealed with the operator's passphrase or recipients (backup-crypto.ts). */
export const KEY_FILE = 'key.age'
const FORMAT = 'tympan-backup'
// Version 2 is an encrypted backup: a Tympan that reads only version 1 refuses it instead of
// restoring ciphertext as audio.
const PLAIN = 1
const ENCRYPTED = 2

export interface ManifestFile {
  size: number
  sha256: string
}

export interface ManifestObject extends ManifestFile {
  id: string
}

export interface ManifestEncryption {
  /** Every file (the dump, each object) is an age file to the key in key.age; sizes and hashes are the ciphertext's. */
  scheme: 'age'
  sealedWith: 'passphrase' | 'recipients'
}

export interface Manifest {
  format: typeof FORMAT
  version: typeof PLAIN | typeof ENCRYPTED
  tympan: string
  createdAt: string
  /** A PGlite data-directory dump (`dumpDataDir('gzip')`), crash-consistent at one instant. */
  database: ManifestFile
  /** Every object the snapshot's files and job artifacts reference. */
  objects: ManifestObject[]
  /**
   * Objects the snapshot references that did not exist: uploads caught between their row and
   * their object (the row comes first so the quota holds). Restore drops those rows.
   */
  absent: string[]
  counts: { users: number, files: number, jobs: number }
  encryption?: ManifestEncryption
  /** HMAC-SHA256 of the rest of the manifest under the backup's key: present exactly when encrypted. */
  mac?: string
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const SHA256 = /^[0-9a-f]{64}$/

export class ManifestError extends Error {
  override name = 'ManifestError'
}

/** The object's place in a backup and in a data directory's object store alike. */
export const objectPath = (id: string): string => `objects/${id.slice(0, 2)}/${id}`

// Encrypted files carry age's suffix, so `age -d` and a reader of the directory know them.
export const backupDumpPath = (encrypted: boolean): string => encrypted ? `${DATABASE_DUMP}.age` : DATABASE_DUMP
export const backupObjectPath = (id: string, encrypted: boolean): string => encrypted ? `${objectPath(id)}.age` : objectPath(id)

/** A manifest without its MAC (which buildManifest leaves to the caller: it needs the key). */
export function buildManifest (fields: Omit<Manifest, 'format' | 'version' | 'mac'>): Manifest {
  return { format: FORMAT, version: fields.encryption ? ENCRYPTED : PLAIN, ...fields }
}

/** What the MAC covers: everything but itself, as written. */
export function unsignedManifest (manifest: Manifest): Omit<Manifest, 'mac'> {
  const { mac: _mac, ...rest } = manifest
  return rest
}

/** The manifest, or a ManifestError that says what is wrong with it. */
export function parseManifest (text: string): Manifest {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new ManifestError('manifest.json is not JSON')
  }
  const m = value as Partial<Manifest> | null
  if (typeof m !== 'object' || m === null || m.format !== FORMAT) throw new ManifestError('manifest.json is not a Tympan backup manifest')
  if (m.version !== PLAIN && m.version !== ENCRYPTED) throw new ManifestError(`backup format version ${String(m.version)} is not supported (this Tympan reads versions ${PLAIN} and ${ENCRYPTED})`)
  encryption(m)
  if (typeof m.tympan !== 'string' || typeof m.createdAt !== 'string' || Number.isNaN(Date.parse(m.createdAt))) throw new ManifestError('manifest.json lacks its version or date')
  file(m.database, 'database')
  if (!Array.isArray(m.objects) || !Array.isArray(m.absent)) throw new ManifestError('manifest.json lacks its object list')
  const seen = new Set<string>()
  for (const object of m.objects as unknown[]) {
    const { id } = object as ManifestObject
    if (typeof id !== 'string' || !UUID.test(id)) throw new ManifestError(`manifest.json names an invalid object id ${JSON.stringify(id)}`)
    if (seen.has(id)) throw new ManifestError(`manifest.json lists object ${id} twice`)
    seen.add(id)
    file(object, `object ${id}`)
  }
  for (const id of m.absent as unknown[]) {
    if (typeof id !== 'string' || !UUID.test(id) || seen.has(id)) throw new ManifestError(`manifest.json names an invalid absent object ${JSON.stringify(id)}`)
  }
  const counts = m.counts
  if (!counts || ![counts.users, counts.files, counts.jobs].every(isCount)) throw new ManifestError('manifest.json lacks its counts')
  return m as Manifest
}

function encryption (m: Partial<Manifest>): void {
  if (m.version === PLAIN) {
    if (m.encryption !== undefined || m.mac !== undefined) throw new ManifestError('manifest.json of an unencrypted backup (version 1) names an encryption')
    return
  }
  const e = m.encryption
  if (!e || e.scheme !== 'age' || (e.sealedWith !== 'passphrase' && e.sealedWith !== 'recipients')) throw new ManifestError('manifest.json of an encrypted backup lacks a valid encryption entry')
  if (typeof m.mac !== 'string' || !SHA256.test(m.mac)) throw new ManifestError('manifest.json of an encrypted backup lacks its MAC')
}

function file (value: unknown, what: string): void {
  const f = value as Partial<ManifestFile> | undefined
  if (!f || !isCount(f.size) || typeof f.sha256 !== 'string' || !SHA256.test(f.sha256)) throw new ManifestError(`manifest.json has no valid size and sha256 for the ${what}`)
}

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0
