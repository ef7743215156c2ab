import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { once } from 'node:events'
import type { Writable } from 'node:stream'
import { batchedFileWriter } from './batched-file.ts'
import type { Storage, Workspace } from './storage.ts'

const AREA = /^[a-z][a-z0-9-]{0,31}$/
// The object store's own folders under a shared root are not workspace areas.
const RESERVED = new Set(['objects', 'incoming'])
const GIVEN_OUT = /^[0-9a-f-]{36}(?:\.part|-[A-Za-z0-9]{6})$/

/**
 * The workspace on local disk: `<root>/<area>/…`, directories 0700 and files 0600. Every
 * path handed in must lie inside an area, so a caller cannot reach the object store's
 * folders or anything outside the root.
 */
export function localWorkspace (root: string, storage: Storage): Workspace {
  const areaDir = (area: string) => {
    if (!AREA.test(area) || RESERVED.has(area)) throw new Error(`invalid workspace area ${JSON.stringify(area)}`)
    return path.join(root, area)
  }
  const inside = (file: string): string => {
    const relative = path.relative(root, path.resolve(file))
    const [area, ...rest] = relative.split(path.sep)
    if (!area || !AREA.test(area) || RESERVED.has(area) || rest.length === 0 || rest.includes('..') || path.isAbsolute(relative)) {
      throw new Error('not a path of the workspace')
    }
    return path.join(root, relative)
  }
  const opened = async <S extends Writable>(stream: S): Promise<S> => {
    await once(stream, 'open')
    return stream
  }

  const workspace: Workspace = {
    async dir (area) {
      const dir = areaDir(area)
      await fsp.mkdir(dir, { recursive: true, mode: 0o700 })
      return dir
    },
    async tempDir (area, owner) {
      if (!/^[0-9a-f-]{36}$/.test(owner)) throw new Error(`invalid workspace owner ${JSON.stringify(owner)}`)
      return fsp.mkdtemp(path.join(await workspace.dir(area), `${owner}-`))
    },
    async createFile (area) {
      const file = path.join(await workspace.dir(area), `${randomUUID()}.part`)
      return { path: file, stream: await workspace.writer(file) }
    },
    async writer (file, options = {}) {
      const target = inside(file)
      // Written in batches (writev of ~512 KiB) while a large upload streams in.
      return opened(options.start === undefined
        ? batchedFileWriter(target, { flags: 'wx', mode: 0o600 })
        : batchedFileWriter(target, { flags: 'r+', start: options.start }))
    },
    reader (file) {
      return fs.createReadStream(inside(file))
    },
    async withReader (file, use) {
      const handle = await fsp.open(inside(file), 'r')
      try {
        return await use(async (offset, length) => {
          const buffer = Buffer.alloc(length)
          const { bytesRead } = await handle.read(buffer, 0, length, offset)
          return buffer.subarray(0, bytesRead)
        })
      } finally {
        await handle.close()
      }
    },
    async size (file) {
      return (await fsp.stat(inside(file))).size
    },
    async move (file, area) {
      const source = inside(file)
      const target = path.join(await workspace.dir(area), `${randomUUID()}.part`)
      await fsp.rename(source, target)
      return target
    },
    async remove (file) {
      await fsp.rm(inside(file), { recursive: true, force: true })
    },
    async stale (area, olderThanMs) {
      const dir = areaDir(area)
      const cutoff = Date.now() - olderThanMs
      const stale: { name: string, path: string }[] = []
      for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
        if (!GIVEN_OUT.test(name)) continue
        const stat = await fsp.stat(path.join(dir, name)).catch(() => undefined)
        if (stat && stat.mtimeMs < cutoff) stale.push({ name, path: path.join(dir, name) })
      }
      return stale
    },
    async materialise (id, dir) {
      const local = await storage.localPath(id)
      if (local) return local
      const file = path.join(inside(dir), `object-${randomUUID()}`)
      await fsp.writeFile(file, storage.read(id), { flag: 'wx', mode: 0o600 })
      return file
    },
    async store (file, id) {
      await storage.put(id, inside(file))
    },
    async flushAhead (file) {
      // Checked first: the optional call below would not evaluate its argument.
      const target = inside(file)
      await storage.flushAhead?.(target)
    }
  }
  return workspace
}
