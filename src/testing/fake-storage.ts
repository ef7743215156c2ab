import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import type { Storage } from '../storage/storage.ts'

export type FakeStorage = Storage & {
  objects: Map<string, Buffer>
  /** Staged paths given to discard(), in order. */
  discarded: string[]
  /** Errors the next call of a method throws. */
  faults: { commit?: Error }
  /** The fake's own directory on local disk (staging and work directories). */
  root: string
}

let scratch: string | undefined

/** One temporary directory per test process, removed as it exits. */
function scratchDir (): string {
  if (!scratch) {
    const made = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-fakes-'))
    scratch = made
    process.once('exit', () => fs.rmSync(made, { recursive: true, force: true }))
  }
  return scratch
}

/**
 * Objects live in memory; staging and work directories are real, under a temporary root,
 * because the services hand their paths to tools (file-type, the WAV walk, engines).
 */
export function fakeStorage (): FakeStorage {
  const root = fs.mkdtempSync(path.join(scratchDir(), 'storage-'))
  const staging = path.join(root, 'staging')
  fs.mkdirSync(staging)
  const objects = new Map<string, Buffer>()
  const discarded: string[] = []
  const faults: { commit?: Error } = {}
  const mustHave = (id: string) => {
    const bytes = objects.get(id)
    if (!bytes) throw Object.assign(new Error(`no object ${id}`), { code: 'ENOENT' })
    return bytes
  }
  return {
    objects,
    discarded,
    faults,
    root,
    async stage () {
      const stagedPath = path.join(staging, randomUUID())
      return { path: stagedPath, stream: fs.createWriteStream(stagedPath) }
    },
    async commit (stagedPath, id) {
      const fault = faults.commit
      faults.commit = undefined
      if (fault) throw fault
      objects.set(id, await fsp.readFile(stagedPath))
      await fsp.rm(stagedPath)
    },
    async discard (stagedPath) {
      discarded.push(stagedPath)
      await fsp.rm(stagedPath, { force: true })
    },
    read (id, range) {
      const bytes = mustHave(id)
      return Readable.from([range ? bytes.subarray(range.start, range.end + 1) : bytes])
    },
    async localPath (id) {
      mustHave(id)
      return path.join(root, 'objects', id)
    },
    exists: async (id) => objects.has(id),
    async delete (id) { objects.delete(id) },
    staleStaged: async () => [],
    async adopt (workFile) {
      const stagedPath = path.join(staging, randomUUID())
      await fsp.rename(workFile, stagedPath)
      return stagedPath
    },
    staleWork: async () => [],
    async removeWork (entry) { await fsp.rm(entry, { recursive: true, force: true }) },
    async workDir (name) {
      const dir = path.join(root, 'work', name)
      await fsp.mkdir(dir, { recursive: true })
      return dir
    },
    ping: async () => {}
  }
}
