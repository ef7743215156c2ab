import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { batchedFileWriter } from './batched-file.ts'
import { byteMeter } from './byte-meter.ts'
import { localWorkspace } from './local-workspace.ts'
import { writeBehind } from './write-behind.ts'
import type { FileStores, Storage } from './storage.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const INCOMING = /^[0-9a-f-]{36}\.part$/
const SHARD = /^[0-9a-f]{2}$/

async function datasync (file: string): Promise<void> {
  const handle = await fsp.open(file, 'r')
  try { await handle.datasync() } finally { await handle.close() }
}

/** Names in `dir`, or none when it has gone (a shard emptied and removed by hand). */
const namesIn = (dir: string): Promise<string[]> =>
  fsp.readdir(dir).catch((error: NodeJS.ErrnoException) => { if (error.code === 'ENOENT') return []; throw error })

/**
 * Local driver: `<root>/objects/<2 hex>/<uuid>` (0600, directories 0700); a write in
 * progress is `<root>/incoming/<uuid>.part` until its rename. Paths are built only from
 * validated UUIDs, so no client input can name a path.
 */
export function localStorage (root: string): Storage {
  const objects = path.join(root, 'objects')
  const incoming = path.join(root, 'incoming')
  for (const dir of [root, objects, incoming]) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
    fs.chmodSync(dir, 0o700)
  }

  const objectPath = (id: string) => {
    if (!UUID.test(id)) throw new Error(`invalid object id ${JSON.stringify(id)}`)
    return path.join(objects, id.slice(0, 2), id)
  }

  /** fsync, rename over the object's name, then fsync the directory: durable and atomic. */
  async function commit (file: string, id: string): Promise<void> {
    const target = objectPath(id)
    await fsp.mkdir(path.dirname(target), { recursive: true, mode: 0o700 })
    const handle = await fsp.open(file, 'r')
    // Files written by other tools (tus's FileStore, yt-dlp, the engines) carry the umask's 0644.
    try { await handle.chmod(0o600); await handle.sync() } finally { await handle.close() }
    await fsp.rename(file, target)
    // The rename is durable only once the directory entry is on disk too.
    const dir = await fsp.open(path.dirname(target), 'r')
    try { await dir.sync() } finally { await dir.close() }
  }

  const storage: Storage = {
    async write (id, source, options) {
      objectPath(id)
      const part = path.join(incoming, `${randomUUID()}.part`)
      const { stream: meter, written } = byteMeter(options)
      const behind = writeBehind(() => datasync(part))
      try {
        await pipeline(source, meter, behind.counter(), batchedFileWriter(part, { flags: 'wx', mode: 0o600 }))
        await behind.done()
        await commit(part, id)
      } catch (error) {
        await behind.done().catch(() => {})
        await fsp.rm(part, { force: true })
        throw error
      }
      return written()
    },
    async put (id, file) {
      if (!path.isAbsolute(file) || !path.relative(objects, file).startsWith('..')) throw new Error('not a local file outside the object store')
      try {
        await commit(file, id)
      } catch (error) {
        // A workspace on another filesystem: copy, then the file is consumed all the same.
        if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error
        await storage.write(id, fs.createReadStream(file))
        await fsp.rm(file, { force: true })
      }
    },
    async flushAhead (file) {
      // Only where put will rename: a file on another filesystem is copied, and its own
      // write-back would be wasted.
      const [source, target] = await Promise.all([fsp.stat(file), fsp.stat(objects)])
      if (source.dev !== target.dev) return
      await datasync(file)
    },
    read (id, range) {
      return fs.createReadStream(objectPath(id), { highWaterMark: 1 << 20, ...(range ? { start: range.start, end: range.end } : {}) })
    },
    async stat (id) {
      const stat = await fsp.stat(objectPath(id)).catch(() => undefined)
      return stat?.isFile() ? { size: stat.size } : undefined
    },
    async exists (id) {
      return await storage.stat(id) !== undefined
    },
    async delete (id) {
      await fsp.rm(objectPath(id), { force: true })
    },
    async localPath (id) {
      const file = objectPath(id)
      await fsp.access(file, fs.constants.R_OK)
      return file
    },
    async sweepIncomplete (olderThanMs) {
      const cutoff = Date.now() - olderThanMs
      let removed = 0
      for (const name of await fsp.readdir(incoming)) {
        if (!INCOMING.test(name)) continue
        const file = path.join(incoming, name)
        const stat = await fsp.stat(file).catch(() => undefined)
        if (stat?.isFile() && stat.mtimeMs < cutoff) {
          await fsp.rm(file, { force: true })
          removed++
        }
      }
      return removed
    },
    async * listOlderThan (olderThanMs) {
      const cutoff = Date.now() - olderThanMs
      for (const shard of await namesIn(objects)) {
        if (!SHARD.test(shard)) continue
        for (const name of await namesIn(path.join(objects, shard))) {
          // Only names this driver gives out: anything else in the tree is not an object.
          if (!UUID.test(name) || !name.startsWith(shard)) continue
          const stat = await fsp.stat(path.join(objects, shard, name)).catch(() => undefined)
          // The rename keeps the file's mtime: the time its last byte was written.
          if (stat?.isFile() && stat.mtimeMs < cutoff) yield name
        }
      }
    },
    async ping () {
      await fsp.access(root, fs.constants.W_OK)
    }
  }
  return storage
}

/** The local driver and its workspace under one root, so that storing a workspace file is a rename. */
export function localFileStores (root: string): FileStores {
  const storage = localStorage(root)
  return { storage, workspace: localWorkspace(root, storage) }
}
