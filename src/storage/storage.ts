import type { Readable, Writable } from 'node:stream'

export interface ByteRange {
  start: number
  /** Inclusive, as in HTTP Range. */
  end: number
}

export interface StagedFile {
  path: string
  stream: Writable
}

/**
 * Where audio bytes live. Only this module touches the files area; callers name objects by
 * UUID and never see a path except for staged (not yet accepted) files, which the media
 * tools must read from disk.
 */
export interface Storage {
  /** A new private temp file for incoming bytes, on the same filesystem as the store. */
  stage: () => Promise<StagedFile>
  /** Makes a validated staged file the object `id`: fsync, then an atomic rename. */
  commit: (stagedPath: string, id: string) => Promise<void>
  /** Removes a staged file; quiet if it is already gone. */
  discard: (stagedPath: string) => Promise<void>
  read: (id: string, range?: ByteRange) => Readable
  /**
   * A path the engines may read the object from (ffmpeg and the recognisers take paths). The
   * local driver hands out the object itself; a remote driver would download to a work file.
   */
  localPath: (id: string) => Promise<string>
  exists: (id: string) => Promise<boolean>
  delete: (id: string) => Promise<void>
  /** Staged files older than `olderThanMs`, for the sweeper (crashed or aborted uploads). */
  staleStaged: (olderThanMs: number) => Promise<string[]>
  /** Moves a finished file out of a work directory into staging (a rename: no copy). */
  adopt: (workFile: string) => Promise<string>
  /** Entries of the work directory `name` untouched for `olderThanMs` (left by a crashed process). */
  staleWork: (name: string, olderThanMs: number) => Promise<{ name: string, path: string }[]>
  /** Removes one entry of a work directory, as returned by staleWork; quiet if already gone. */
  removeWork: (entry: string) => Promise<void>
  /** A private directory for a tool that writes its own files (resumable uploads, yt-dlp). */
  workDir: (name: string) => Promise<string>
  ping: () => Promise<void>
}
