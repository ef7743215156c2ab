import path from 'node:path'
import { ConfigError, type Config } from '../config/config.ts'
import type { Db } from '../db/database.ts'
import { encryptedStorage } from './encrypted-storage.ts'
import { localStorage } from './local-storage.ts'
import { localWorkspace } from './local-workspace.ts'
import { objectKeysRepository, type ObjectKeysRepository } from './object-keys.repository.ts'
import { s3Client, s3Storage } from './s3-storage.ts'
import type { FileStores, Storage } from './storage.ts'

export interface OpenedFileStores extends FileStores {
  /** The driver's own bytes (ciphertext where encrypted): what a backup copies, beside the database that holds their keys. */
  stored: Storage
  /** Start-up warnings for the log (objects still stored unencrypted). */
  warnings: string[]
}

export const ROTATE_COMMAND = 'tympan admin rotate-storage-key'

/**
 * The stores STORAGE_URL names, for every entry point (the API, `tympan worker`, `tympan
 * admin`), encrypted at rest when STORAGE_ENCRYPTION_KEY is set. The workspace is always
 * local, under the data directory: tools need paths. Refuses to start when the database
 * names keys this configuration cannot unwrap: serving would fail every read of them.
 */
export async function fileStoresFor (config: Pick<Config, 'dataDir' | 'storage' | 'storageEncryption'>, db: Pick<Db, 'kysely'>): Promise<OpenedFileStores> {
  const workspaceRoot = path.join(config.dataDir, 'files')
  const stored = storedObjects(config)
  const objectKeys = objectKeysRepository(db.kysely)
  const warnings = await checkKeys(config.storageEncryption, objectKeys)
  const { current, previous } = config.storageEncryption
  const storage = current ? encryptedStorage(stored, { current, previous }, objectKeys) : stored
  return { storage, stored, workspace: localWorkspace(workspaceRoot, storage), warnings }
}

/**
 * The driver's own bytes, with no key check: what an offline backup copies (ciphertext where
 * encrypted, beside the database dump that holds the wrapped keys), which needs no key.
 */
export function storedObjects ({ storage: target }: Pick<Config, 'storage'>): Storage {
  return target.driver === 'local' ? localStorage(target.root) : s3Storage(s3Client(target), target)
}

async function checkKeys ({ current, previous }: Config['storageEncryption'], objectKeys: ObjectKeysRepository): Promise<string[]> {
  const known = [...(current ? [current.id] : []), ...previous.map((key) => key.id)]
  const census = await objectKeys.census(known)
  if (census.any && !current) throw new ConfigError('Refusing to start: objects are encrypted at rest, and STORAGE_ENCRYPTION_KEY is not set (docs/operations.md, "Encryption at rest")')
  if (census.unknownKeyId) throw new ConfigError(`Refusing to start: objects are encrypted with key ${census.unknownKeyId}, which is not configured: set that key in STORAGE_ENCRYPTION_KEY or STORAGE_ENCRYPTION_PREVIOUS_KEYS (docs/operations.md, "Encryption at rest")`)
  if (!current) return []
  const plaintext = await objectKeys.countPlaintext()
  return plaintext > 0 ? [`${plaintext} object(s) are stored unencrypted (written before STORAGE_ENCRYPTION_KEY was set); they stay readable, and ${ROTATE_COMMAND} encrypts them`] : []
}
