import { FileStore } from '@tus/file-store'
import type { Config } from '../../config/config.ts'
import type { Storage } from '../../storage/storage.ts'

/**
 * The tus data store, created once per process: its constructor starts an mkdir it never
 * awaits, so building one per use would leave stray I/O behind.
 */
export function resumableStore (storage: Storage, config: Config): () => Promise<FileStore> {
  let store: Promise<FileStore> | undefined
  return () => {
    store ??= storage.workDir('resumable').then((directory) =>
      new FileStore({ directory, expirationPeriodInMilliseconds: config.intake.resumableExpiryMs }))
    return store
  }
}
