import fs from 'node:fs/promises'
import path from 'node:path'

export const INITIAL_PASSWORD_FILE = 'initial-admin-password'

export interface InitialPasswordFile {
  path: string
  write: (password: string) => Promise<void>
  /** False when there was no file. */
  remove: () => Promise<boolean>
}

/**
 * Where the first admin's generated password goes when stderr is not a terminal: under
 * systemd or Docker stderr is the log, and logs are kept, shipped and read by many.
 */
export function initialPasswordFile (dataDir: string): InitialPasswordFile {
  const file = path.join(dataDir, INITIAL_PASSWORD_FILE)
  return {
    path: file,
    async write (password) {
      await fs.mkdir(dataDir, { recursive: true, mode: 0o700 })
      // Only a first start with no users writes it, so a file already there is stale (left
      // by an earlier database). It is removed, never followed: 'wx' creates afresh or fails,
      // so a symlink planted in its place cannot redirect the secret.
      await fs.rm(file, { force: true })
      await fs.writeFile(file, `${password}\n`, { flag: 'wx', mode: 0o600 })
    },
    async remove () {
      try {
        await fs.unlink(file)
        return true
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
        throw error
      }
    }
  }
}
