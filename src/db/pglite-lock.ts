import fs from 'node:fs'
import path from 'node:path'

/**
 * PGlite is a database inside one process; two processes opening the same data directory
 * corrupt it. This lock file (pid inside, created with O_EXCL) makes a second process fail
 * with a clear message instead. A lock left by a dead process is taken over.
 */
export function acquirePgliteLock (dataDir: string): () => void {
  const file = path.join(path.dirname(dataDir), `${path.basename(dataDir)}.lock`)
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 })
      return () => { try { if (fs.readFileSync(file, 'utf8') === String(process.pid)) fs.unlinkSync(file) } catch { /* already gone */ } }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const owner = Number(fs.readFileSync(file, 'utf8'))
      if (owner && owner !== process.pid && isAlive(owner)) {
        throw new DatabaseInUseError(`The embedded database ${dataDir} is in use by process ${owner} (a running "tympan serve"?). Stop it first, or use the HTTP admin API.`)
      }
      fs.rmSync(file, { force: true })
    }
  }
  throw new DatabaseInUseError(`Could not lock the embedded database ${dataDir}`)
}

/** The live process holding the lock of `dataDir`, if any (a stale lock names a dead one). */
export function pgliteLockOwner (dataDir: string): number | undefined {
  const file = path.join(path.dirname(dataDir), `${path.basename(dataDir)}.lock`)
  let owner: number
  try {
    owner = Number(fs.readFileSync(file, 'utf8'))
  } catch {
    return undefined
  }
  return owner && owner !== process.pid && isAlive(owner) ? owner : undefined
}

export class DatabaseInUseError extends Error {
  override name = 'DatabaseInUseError'
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
