import type { Readable, Writable } from 'node:stream'

export interface ByteRange {
  start: number
  /** Inclusive, as in HTTP Range. */
  end: number
}

export interface Written {
  size: number
  /** Absent when written with `{ hash: false }`. */
  sha256?: string
}

export interface WriteOptions {
  /**
   * false: count only. For a writer whose bytes are hashed elsewhere already (encryption at
   * rest: the plaintext's SHA-256 was taken while it was staged, and GCM authenticates every
   * chunk of the ciphertext), SHA-256 would cost about 0.7 s of CPU a GiB for nothing.
   */
  hash?: boolean
}

/**
 * An object being written while its bytes still arrive (and are still being checked), for a
 * driver whose put would copy the checked file (encryption at rest). Nothing of it is
 * visible until commit; discard leaves nothing.
 */
export interface IncomingObject {
  /** The object's bytes as they arrive; end it once all are in, then commit or discard. */
  stream: Writable
  /** Makes the object visible and durable, as write does; once the stream has finished. */
  commit: () => Promise<void>
  /** Drops it (quiet when already dropped); an error of the writing is not rethrown. */
  discard: () => Promise<void>
}

/**
 * The object store: where accepted audio and job artifacts live. Objects are named by UUID
 * and appear whole or not at all; nothing here hands out a path to write to, so an S3 driver
 * implements it as it stands (docs/architecture.md, "Storage contract"). Bytes still being
 * received or checked live in the Workspace, never here.
 */
export interface Storage {
  /**
   * Streams `source` into the object `id`, counting and hashing on the way. The object is
   * visible only once complete and durable (local: fsync, then an atomic rename; S3: a
   * completed upload); on any failure nothing of it stays.
   */
  write: (id: string, source: Readable, options?: WriteOptions) => Promise<Written>
  /**
   * Makes the local file `file` (a workspace file) the object `id`, consuming it, with the
   * same guarantees as write. The local driver moves it (fsync and rename, no copy); a remote
   * driver uploads it, then removes it.
   */
  put: (id: string, file: string) => Promise<void>
  /**
   * Optional: starts writing the local `file` back to disk ahead of a later put(id, file), for
   * a driver whose put keeps the file itself (local: a rename), so that put's fsync has little
   * left to do. Its failure is put's failure: the caller awaits it before put. A driver (or a
   * decorator) without it loses nothing but the overlap: put is durable on its own.
   */
  flushAhead?: (file: string) => Promise<void>
  /**
   * Optional, for a driver whose put copies (an encrypting decorator): the object `id` written
   * beside the staged file while an upload arrives, so that accepting it is a commit and not
   * a copy after the last byte. A driver without it is given the staged file by put.
   */
  receive?: (id: string) => Promise<IncomingObject>
  read: (id: string, range?: ByteRange) => Readable
  /** The object's size, or undefined when there is none. */
  stat: (id: string) => Promise<{ size: number } | undefined>
  exists: (id: string) => Promise<boolean>
  /** Quiet when the object is already gone. */
  delete: (id: string) => Promise<void>
  /**
   * A read-only path on this machine holding the object, when the driver keeps objects on
   * local disk (Workspace.materialise then need not copy it); undefined for a remote driver.
   * Throws when the object does not exist.
   */
  localPath: (id: string) => Promise<string | undefined>
  /** Removes writes a crashed process left incomplete, older than `olderThanMs`; returns how many. */
  sweepIncomplete: (olderThanMs: number) => Promise<number>
  /**
   * The ids of every complete object last written more than `olderThanMs` ago, in no set
   * order, page by page as the store lists them (memory stays flat however many there are).
   * Deleting an object already yielded while iterating is allowed. The orphan collector's
   * input (docs/storage.md): whether a row still names an object is the caller's question.
   */
  listOlderThan: (olderThanMs: number) => AsyncIterable<string>
  ping: () => Promise<void>
}

/**
 * Private files and directories on local disk for tools that need paths: ffmpeg and
 * ffprobe, the recognisers, tus's FileStore, yt-dlp and the import fetcher, job attempts.
 * Always local, whatever the Storage driver. Areas are short lowercase names (`staging`,
 * `resumable`, `imports`, `jobs`); every method refuses a path outside the workspace.
 */
export interface Workspace {
  /** The private directory of `area`, for a tool that manages its own files there. */
  dir: (area: string) => Promise<string>
  /** A fresh private directory in `area`, named `<owner>-<random>` after the job or request it serves. */
  tempDir: (area: string, owner: string) => Promise<string>
  /** A new private file `<area>/<uuid>.part`, open for writing. */
  createFile: (area: string) => Promise<{ path: string, stream: Writable }>
  /**
   * A stream writing `file`, resolved once the file is open: a new private file (it fails
   * when one exists), or with `start` an existing file from that offset.
   */
  writer: (file: string, options?: { start?: number }) => Promise<Writable>
  reader: (file: string) => Readable
  /**
   * Runs `use` with a positional reader of `file` (fewer bytes come back past its end), for
   * header checks that walk a file by offset without reading it whole.
   */
  withReader: <T>(file: string, use: (readAt: (offset: number, length: number) => Promise<Buffer>) => Promise<T>) => Promise<T>
  size: (file: string) => Promise<number>
  /** Moves a file into `area` under a fresh `<uuid>.part` name (a rename: no copy). */
  move: (file: string, area: string) => Promise<string>
  /** Removes a file or a directory with its contents; quiet when already gone. */
  remove: (file: string) => Promise<void>
  /**
   * Entries of `area` untouched for `olderThanMs` (left by a crashed process). Only names
   * the workspace gives out (`<uuid>.part`, `<uuid>-<random>`): a foreign file stays.
   */
  stale: (area: string, olderThanMs: number) => Promise<{ name: string, path: string }[]>
  /** A path from which tools may read object `id`: the driver's own file, or a download into `dir`. */
  materialise: (id: string, dir: string) => Promise<string>
  /** Makes the workspace file `file` the object `id` (Storage.put), consuming it. */
  store: (file: string, id: string) => Promise<void>
  /**
   * Starts making the workspace file `file` durable ahead of store(), where the store keeps
   * the file as it is (Storage.flushAhead); otherwise resolves at once. Await it before store():
   * a failed write-back must fail the store.
   */
  flushAhead: (file: string) => Promise<void>
}

/** What the wiring receives: one object store and its local workspace. */
export interface FileStores {
  storage: Storage
  workspace: Workspace
}
