import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import type { Storage } from './storage.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const WORK_NAME = /^[a-z][a-z0-9-]{0,31}$/

/**
 * Local driver: `<root>/objects/<2 hex>/<uuid>` (0600, directories 0700) and
 * `<root>/staging/<uuid>.part`. Paths are built only from validated UUIDs, so no client
 * input can name a path.
 */
export function localStorage (root: string): Storage {
  const objects = path.join(root, 'objects')
  const staging = path.join(root, 'staging')
  for (const dir of [root, objects, staging]) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
    fs.chmodSync(dir, 0o700)
  }

  const objectPath = (id: string) => {
    if (!UUID.test(id)) throw new Error(`invalid object id ${JSON.stringify(id)}`)
    return path.join(objects, id.slice(0, 2), id)
  }
  const assertStaged = (stagedPath: string) => {
    if (path.dirname(stagedPath) !== staging || !/^[0-9a-f-]{36}\.part$/.test(path.basename(stagedPath))) {
      throw new Error('not a staged file of this storage')
    }
  }

  return {
    async stage () {
      const file = path.join(staging, `${randomUUID()}.part`)
      // 1 MiB buffer: fewer, larger writes (writev) while a large upload streams in.
      const stream = fs.createWriteStream(file, { flags: 'wx', mode: 0o600, highWaterMark: 1 << 20 })
      await new Promise<void>((resolve, reject) => { stream.once('open', () => resolve()); stream.once('error', reject) })
      return { path: file, stream }
    },
    async commit (stagedPath, id) {
      assertStaged(stagedPath)
      const target = objectPath(id)
      await fsp.mkdir(path.dirname(target), { recursive: true, mode: 0o700 })
      const handle = await fsp.open(stagedPath, 'r')
      // Staged files written by other tools (tus's FileStore, yt-dlp) carry the umask's 0644.
      try { await handle.chmod(0o600); await handle.sync() } finally { await handle.close() }
      await fsp.rename(stagedPath, target)
      // The rename is durable only once the directory entry is on disk too.
      const dir = await fsp.open(path.dirname(target), 'r')
      try { await dir.sync() } finally { await dir.close() }
    },
    async discard (stagedPath) {
      assertStaged(stagedPath)
      await fsp.rm(stagedPath, { force: true })
    },
    read (id, range) {
      return fs.createReadStream(objectPath(id), range ? { start: range.start, end: range.end } : {})
    },
    async localPath (id) {
      const file = objectPath(id)
      await fsp.access(file, fs.constants.R_OK)
      return file
    },
    async exists (id) {
      try {
        await fsp.access(objectPath(id))
        return true
      } catch {
        return false
      }
    },
    async delete (id) {
      await fsp.rm(objectPath(id), { force: true })
    },
    async staleStaged (olderThanMs) {
      const cutoff = Date.now() - olderThanMs
      const stale: string[] = []
      for (const name of await fsp.readdir(staging)) {
        // Only what stage() and adopt() create: discard() refuses anything else, and one
        // foreign file must not make every later sweep fail.
        if (!/^[0-9a-f-]{36}\.part$/.test(name)) continue
        const file = path.join(staging, name)
        const stat = await fsp.stat(file).catch(() => undefined)
        if (stat?.isFile() && stat.mtimeMs < cutoff) stale.push(file)
      }
      return stale
    },
    async adopt (workFile) {
      const relative = path.relative(root, workFile)
      const [dir, ...rest] = relative.split(path.sep)
      if (!dir || !WORK_NAME.test(dir) || rest.length === 0 || rest.includes('..') || path.isAbsolute(relative)) throw new Error('not a file of a work directory')
      const staged = path.join(staging, `${randomUUID()}.part`)
      await fsp.rename(workFile, staged)
      return staged
    },
    async staleWork (name, olderThanMs) {
      if (!WORK_NAME.test(name)) throw new Error(`invalid work directory name ${JSON.stringify(name)}`)
      const dir = path.join(root, name)
      const cutoff = Date.now() - olderThanMs
      const entries = await fsp.readdir(dir).catch(() => [] as string[])
      const stale: { name: string, path: string }[] = []
      for (const entry of entries) {
        const stat = await fsp.stat(path.join(dir, entry)).catch(() => undefined)
        if (stat && stat.mtimeMs < cutoff) stale.push({ name: entry, path: path.join(dir, entry) })
      }
      return stale
    },
    async removeWork (entry) {
      const relative = path.relative(root, entry)
      const [dir, name, ...rest] = relative.split(path.sep)
      if (!dir || !WORK_NAME.test(dir) || !name || rest.length > 0 || name.startsWith('.')) throw new Error('not an entry of a work directory')
      await fsp.rm(entry, { recursive: true, force: true })
    },
    async workDir (name) {
      if (!WORK_NAME.test(name)) throw new Error(`invalid work directory name ${JSON.stringify(name)}`)
      const dir = path.join(root, name)
      await fsp.mkdir(dir, { recursive: true, mode: 0o700 })
      return dir
    },
    async ping () {
      await fsp.access(root, fs.constants.W_OK)
    }
  }
}
