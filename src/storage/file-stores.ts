import path from 'node:path'
import type { Config } from '../config/config.ts'
import { localFileStores, localStorage } from './local-storage.ts'
import { localWorkspace } from './local-workspace.ts'
import { s3Client, s3Storage } from './s3-storage.ts'
import type { FileStores } from './storage.ts'

/**
 * The stores STORAGE_URL names, for every entry point (the API, `tympan worker`, `tympan
 * admin`). The workspace is always local, under the data directory: tools need paths.
 */
export function fileStoresFor (config: Pick<Config, 'dataDir' | 'storage'>): FileStores {
  const workspaceRoot = path.join(config.dataDir, 'files')
  const target = config.storage
  if (target.driver === 'local') {
    if (path.resolve(target.root) === workspaceRoot) return localFileStores(workspaceRoot)
    // Objects elsewhere: storing a workspace file is a copy when the two are on different disks.
    const storage = localStorage(target.root)
    return { storage, workspace: localWorkspace(workspaceRoot, storage) }
  }
  const storage = s3Storage(s3Client(target), target)
  return { storage, workspace: localWorkspace(workspaceRoot, storage) }
}
