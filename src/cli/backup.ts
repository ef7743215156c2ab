import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { Readable, pipeline as pipeOn } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { setTimeout as sleep } from 'node:timers/promises'
import { PGlite } from '@electric-sql/pglite'
import { pgliteLockOwner } from '../db/pglite-lock.ts'
import type { Config } from '../config/config.ts'
import { byteMeter } from '../storage/byte-meter.ts'
import type { Storage } from '../storage/storage.ts'
import { VERSION } from '../version.ts'
import { BackupKeyError, decryptStream, encryptStream, macMatches, manifestMac, openBackupKey, type BackupKey, type BackupSealing, type RestoreSecret } from './backup-crypto.ts'
import { backupDumpPath, backupObjectPath, buildManifest, KEY_FILE, MANIFEST, ManifestError, objectPath, parseManifest, unsignedManifest, type Manifest, type ManifestFile, type ManifestObject } from './backup-manifest.ts'
import { CliError } from './runtime.ts'

/** What a backup reads: the open embedded database, the object store, and its delete hold. */
export interface BackupSource {
  pglite: PGlite
  storage: Storage
  /** Defers object deletes until the returned release (storage/deferred-deletes.ts). */
  holdDeletes: () => Promise<() => Promise<void>>
}

export interface BackupSummary {
  dir: string
  objects: number
  bytes: number
  absent: number
  counts: Manifest['counts']
  encrypted: boolean
}

// Development secrets, which loading the configuration (for TYMPAN_DATA_DIR) writes into an
// empty data directory: the restored one keeps them. A backup never holds secrets.
const KEPT = new Set(['secrets.json'])

// An upload's row is written just before its object is renamed into place (the quota is
// checked in the insert); a snapshot taken in between finds the object a moment later.
const ABSENT_RETRIES = 20
const ABSENT_RETRY_MS = 100

/**
 * Whether backup and restore cover this deployment: the embedded database and objects in
 * the default place under the data directory, which restore rebuilds as one directory.
 * PostgreSQL and other object stores have their own, better tools (pg_dump, bucket versioning).
 */
export function backupCovers (config: Pick<Config, 'databaseUrl' | 'dataDir' | 'storage'>): boolean {
  return !config.databaseUrl && config.storage.driver === 'local' && path.resolve(config.storage.root) === path.join(config.dataDir, 'files')
}

/**
 * Writes a consistent backup of the embedded database and the objects it references into
 * `dir` (absolute; absent or empty). Consistent while serving: deletes are held from before
 * the snapshot until every referenced object is copied, and the list of objects is read from
 * the snapshot itself. manifest.json is written last, so a directory without one is not a
 * backup; on failure the directory is emptied again. With `sealing` every file is an age file
 * to the backup's key and key.age comes first (backup-crypto.ts); the manifest is MACed.
 */
export async function createBackup (source: BackupSource, dir: string, sealing?: BackupSealing): Promise<BackupSummary> {
  await prepareTarget(dir)
  const encrypted = sealing !== undefined
  const seal = (open: () => Readable) => sealing ? async () => await encryptStream(open(), sealing.recipient) : open
  try {
    if (sealing) await writeDurably(path.join(dir, KEY_FILE), Buffer.from(sealing.keyFile, 'base64'))
    const release = await source.holdDeletes()
    let database: ManifestFile
    let snapshot: Awaited<ReturnType<typeof readSnapshot>>
    const objects: ManifestObject[] = []
    const absent: string[] = []
    try {
      // Under PGlite's query lock: a crash-consistent image of the committed state at one instant.
      const dump = await source.pglite.dumpDataDir('gzip')
      database = await writeHashed(seal(() => Readable.fromWeb(dump.stream() as WebReadableStream)), path.join(dir, backupDumpPath(encrypted)))
      snapshot = await readSnapshot(dump)
      for (const id of snapshot.objectIds) {
        if (!await present(source.storage, id)) {
          absent.push(id)
          continue
        }
        objects.push({ id, ...await writeHashed(seal(() => source.storage.read(id)), path.join(dir, backupObjectPath(id, encrypted))) })
      }
    } finally {
      await release()
    }
    const manifest = buildManifest({
      tympan: VERSION,
      createdAt: new Date().toISOString(),
      database,
      objects,
      absent,
      counts: snapshot.counts,
      ...(sealing ? { encryption: { scheme: 'age', sealedWith: sealing.sealedWith } } : {})
    })
    if (sealing) manifest.mac = manifestMac(manifest, Buffer.from(sealing.macKey, 'base64'))
    await writeDurably(path.join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`)
    return { dir, objects: objects.length, bytes: database.size + objects.reduce((sum, o) => sum + o.size, 0), absent: absent.length, counts: snapshot.counts, encrypted }
  } catch (error) {
    await emptyDir(dir)
    throw error
  }
}

export interface RestoreSummary {
  dataDir: string
  objects: number
  counts: Manifest['counts']
  createdAt: string
  tympan: string
  encrypted: boolean
}

/**
 * Restores a backup into `dataDir`, which must be absent or empty and not in use. Every file
 * is checked against the manifest's size and sha256 on the way; the data directory appears
 * only once all of it is in place (built beside it, then renamed), so a refused or failed
 * restore leaves nothing behind. An encrypted backup needs `secret` to open its key.age; its
 * manifest's MAC is checked before any file is used, and age authenticates every file's
 * content as it is decrypted. `secret` with an unencrypted backup is refused: a backup
 * swapped for an unencrypted one must not pass for the encrypted one the operator expects.
 */
export async function restoreBackup (dir: string, dataDir: string, secret?: RestoreSecret): Promise<RestoreSummary> {
  const manifest = await readManifest(dir)
  const owner = pgliteLockOwner(path.join(dataDir, 'db'))
  if (owner) throw new CliError(`A server (process ${owner}) is running on ${dataDir}; stop it, and restore into an empty data directory.`)
  const existing = await fsp.readdir(dataDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return []
    throw error
  })
  if (existing.some((name) => !KEPT.has(name))) throw new CliError(`${dataDir} is not empty: restore only into a new, empty data directory (set TYMPAN_DATA_DIR), never over a live one.`)

  const key = await backupKey(dir, manifest, secret)
  const dumpName = backupDumpPath(key !== undefined)
  const stored = await fsp.readFile(path.join(dir, dumpName)).catch(() => { throw mismatch(`${dumpName} is missing`) })
  checkFile(dumpName, { size: stored.length, sha256: createHash('sha256').update(stored).digest('hex') }, manifest.database)
  const dump = key ? await key.decrypter.decrypt(stored).catch((error: unknown) => { throw mismatch(`${dumpName} fails age's authentication (${(error as Error).message})`) }) : stored

  await fsp.mkdir(path.dirname(dataDir), { recursive: true, mode: 0o700 })
  const staging = `${dataDir}.restoring-${randomBytes(4).toString('hex')}`
  await fsp.mkdir(staging, { mode: 0o700 })
  try {
    for (const object of manifest.objects) {
      const from = path.join(dir, backupObjectPath(object.id, key !== undefined))
      const copied = await restoreFile(from, path.join(staging, 'files', objectPath(object.id)), key).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') throw mismatch(`object ${object.id} is missing`)
        // age's own refusal ("invalid tag"): a flipped bit or a cut-off end.
        if (key && error.code === undefined && !(error instanceof CliError)) throw mismatch(`object ${object.id} fails age's authentication (${error.message})`)
        throw error
      })
      checkFile(`object ${object.id}`, copied, object)
    }
    const db = await PGlite.create(path.join(staging, 'db'), { loadDataDir: new Blob([dump as Uint8Array<ArrayBuffer>]) })
    try {
      if (manifest.absent.length > 0) {
        await db.query('DELETE FROM job_artifacts WHERE object_id = ANY($1::uuid[])', [manifest.absent])
        await db.query('DELETE FROM files WHERE id = ANY($1::uuid[])', [manifest.absent])
      }
    } finally {
      await db.close()
    }
    for (const name of existing) await fsp.rename(path.join(dataDir, name), path.join(staging, name))
    await fsp.rmdir(dataDir).catch((error: NodeJS.ErrnoException) => { if (error.code !== 'ENOENT') throw error })
    await fsp.rename(staging, dataDir)
  } catch (error) {
    await fsp.rm(staging, { recursive: true, force: true })
    throw error
  }
  return { dataDir, objects: manifest.objects.length, counts: manifest.counts, createdAt: manifest.createdAt, tympan: manifest.tympan, encrypted: key !== undefined }
}

/** The opened key of an encrypted backup, its manifest authenticated; undefined for a plain one. */
async function backupKey (dir: string, manifest: Manifest, secret: RestoreSecret | undefined): Promise<BackupKey | undefined> {
  if (!manifest.encryption) {
    if (secret) throw new CliError(`${dir} is not an encrypted backup, but a passphrase or identity was given (--passphrase-file, --identity-file or TYMPAN_BACKUP_PASSPHRASE): an encrypted backup may have been swapped for this one. Restore it without them only if you know it is unencrypted; nothing was restored.`)
    return undefined
  }
  const sealed = manifest.encryption.sealedWith
  if (!secret) throw new CliError(`${dir} is an encrypted backup sealed with ${sealed === 'passphrase' ? 'a passphrase: give --passphrase-file FILE or TYMPAN_BACKUP_PASSPHRASE' : 'age recipients: give --identity-file FILE with a matching secret key'}; nothing was restored.`)
  const keyFile = await fsp.readFile(path.join(dir, KEY_FILE)).catch(() => { throw mismatch(`${KEY_FILE} is missing`) })
  let key: BackupKey
  try {
    key = await openBackupKey(keyFile, secret)
  } catch (error) {
    if (error instanceof BackupKeyError) throw new CliError(`${dir}: ${error.message}; nothing was restored.`)
    throw error
  }
  if (!macMatches(unsignedManifest(manifest), manifest.mac!, key.macKey)) throw new CliError(`${dir}: manifest.json was altered (its MAC does not match the backup's key); nothing was restored.`)
  return key
}

async function readManifest (dir: string): Promise<Manifest> {
  const text = await fsp.readFile(path.join(dir, MANIFEST), 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new CliError(error.code === 'ENOENT'
      ? `${dir} is not a backup: it has no ${MANIFEST} (a backup that did not finish has none)`
      : `cannot read ${path.join(dir, MANIFEST)}: ${error.message}`)
  })
  try {
    return parseManifest(text)
  } catch (error) {
    if (error instanceof ManifestError) throw new CliError(`${dir}: ${error.message}; nothing was restored.`)
    throw error
  }
}

const mismatch = (what: string) => new CliError(`The backup does not match its manifest: ${what}; nothing was restored.`)

function checkFile (what: string, actual: ManifestFile, expected: ManifestFile): void {
  if (actual.size !== expected.size || actual.sha256 !== expected.sha256) {
    throw mismatch(`${what} has ${actual.size} bytes with sha256 ${actual.sha256}, the manifest says ${expected.size} bytes with ${expected.sha256}`)
  }
}

/** The objects the snapshot references, and what it holds, read from the dump in memory. */
async function readSnapshot (dump: Blob): Promise<{ objectIds: string[], counts: Manifest['counts'] }> {
  const db = await PGlite.create({ loadDataDir: dump })
  try {
    const ids = await db.query<{ id: string }>('SELECT id::text AS id FROM files UNION SELECT object_id::text FROM job_artifacts ORDER BY 1')
    const [counts] = (await db.query<Manifest['counts']>('SELECT (SELECT count(*) FROM users)::int AS users, (SELECT count(*) FROM files)::int AS files, (SELECT count(*) FROM jobs)::int AS jobs')).rows
    return { objectIds: ids.rows.map((r) => r.id), counts: counts! }
  } finally {
    await db.close()
  }
}

async function present (storage: Storage, id: string): Promise<boolean> {
  for (let attempt = 0; attempt < ABSENT_RETRIES; attempt++) {
    if (await storage.exists(id)) return true
    await sleep(ABSENT_RETRY_MS)
  }
  return false
}

/** An absolute directory that is absent (made 0700) or empty. */
async function prepareTarget (dir: string): Promise<void> {
  if (!path.isAbsolute(dir)) throw new CliError(`the backup directory must be an absolute path: ${dir}`)
  const entries = await fsp.readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined
    if (error.code === 'ENOTDIR') throw new CliError(`${dir} is a file, not a directory`)
    throw new CliError(`cannot use ${dir}: ${error.message}`)
  })
  if (entries && entries.length > 0) throw new CliError(`${dir} is not empty: back up into a new or empty directory`)
  if (!entries) await fsp.mkdir(dir, { recursive: true, mode: 0o700 })
}

async function emptyDir (dir: string): Promise<void> {
  const entries = await fsp.readdir(dir).catch(() => [])
  await Promise.all(entries.map((name) => fsp.rm(path.join(dir, name), { recursive: true, force: true })))
}

/**
 * Streams into a new private file, fsynced, counting and hashing on the way. The source is
 * opened only once the pipeline can take its errors (a missing file, a vanished object).
 */
async function writeHashed (open: () => Readable | Promise<Readable>, file: string): Promise<ManifestFile> {
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
  const { stream: meter, written } = byteMeter()
  await pipeline(await open(), meter, fs.createWriteStream(file, { flags: 'wx', mode: 0o600 }))
  await syncFile(file)
  return written()
}

/**
 * Copies a backup file to `to`, decrypted with `key` when given, counting and hashing the
 * backup's bytes as they are read: the manifest's sizes and hashes are the backup's files.
 */
async function restoreFile (from: string, to: string, key: BackupKey | undefined): Promise<ManifestFile> {
  await fsp.access(from)
  await fsp.mkdir(path.dirname(to), { recursive: true, mode: 0o700 })
  const { stream: meter, written } = byteMeter()
  // The callback form destroys `meter` with the source's error, which then fails the copy.
  pipeOn(fs.createReadStream(from), meter, () => {})
  const plain = key ? await decryptStream(meter, key) : meter
  await pipeline(plain, fs.createWriteStream(to, { flags: 'wx', mode: 0o600 }))
  await syncFile(to)
  return written()
}

async function writeDurably (file: string, text: string | Buffer): Promise<void> {
  const part = `${file}.part`
  await fsp.writeFile(part, text, { flag: 'wx', mode: 0o600 })
  await syncFile(part)
  await fsp.rename(part, file)
  await syncFile(path.dirname(file))
}

async function syncFile (file: string): Promise<void> {
  const handle = await fsp.open(file, 'r')
  try { await handle.sync() } finally { await handle.close() }
}
