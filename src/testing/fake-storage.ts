import { createHash } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Readable, type Writable } from 'node:stream'
import { localWorkspace } from '../storage/local-workspace.ts'
import type { Storage, Workspace } from '../storage/storage.ts'

export type FakeStorage = Storage & {
  objects: Map<string, Buffer>
  /** Paths given to workspace.remove(), in order. */
  discarded: string[]
  /** Errors the next call of a method throws. */
  faults: { put?: Error, flushAhead?: Error }
  /** A real workspace under a temporary root (the services hand its paths to tools). */
  workspace: Workspace
  /** A new staging file, as intake's stageStream makes one. */
  stage: () => Promise<{ path: string, stream: Writable }>
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
 * Objects live in memory, as a remote driver's would (no local path: materialise copies);
 * the workspace is the real local one, under a temporary root, because the services hand its
 * paths to tools (file-type, the WAV walk, engines).
 */
export function fakeStorage (): FakeStorage {
  const root = fs.mkdtempSync(path.join(scratchDir(), 'storage-'))
  const objects = new Map<string, Buffer>()
  // When each object was last written, for listOlderThan.
  const writtenAt = new Map<string, number>()
  const discarded: string[] = []
  const faults: { put?: Error, flushAhead?: Error } = {}
  const mustHave = (id: string) => {
    const bytes = objects.get(id)
    if (!bytes) throw Object.assign(new Error(`no object ${id}`), { code: 'ENOENT' })
    return bytes
  }
  const storage: Storage = {
    async write (id, source) {
      const chunks: Buffer[] = []
      for await (const chunk of source) chunks.push(Buffer.from(chunk as Uint8Array))
      const bytes = Buffer.concat(chunks)
      objects.set(id, bytes)
      writtenAt.set(id, Date.now())
      return { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }
    },
    async put (id, file) {
      const fault = faults.put
      faults.put = undefined
      if (fault) throw fault
      objects.set(id, await fsp.readFile(file))
      writtenAt.set(id, Date.now())
      await fsp.rm(file)
    },
    async flushAhead () {
      const fault = faults.flushAhead
      faults.flushAhead = undefined
      if (fault) throw fault
    },
    read (id, range) {
      const bytes = mustHave(id)
      return Readable.from([range ? bytes.subarray(range.start, range.end + 1) : bytes])
    },
    stat: async (id) => objects.has(id) ? { size: mustHave(id).length } : undefined,
    exists: async (id) => objects.has(id),
    async delete (id) { objects.delete(id) },
    async localPath (id) {
      mustHave(id)
      return undefined
    },
    sweepIncomplete: async () => 0,
    async * listOlderThan (olderThanMs) {
      const cutoff = Date.now() - olderThanMs
      for (const id of [...objects.keys()]) if ((writtenAt.get(id) ?? 0) < cutoff) yield id
    },
    ping: async () => {}
  }
  const real = localWorkspace(root, storage)
  const workspace: Workspace = {
    ...real,
    async remove (file) {
      discarded.push(file)
      await real.remove(file)
    }
  }
  return Object.assign(storage, { objects, discarded, faults, workspace, root, stage: () => workspace.createFile('staging') })
}
