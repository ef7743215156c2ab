import { Transform } from 'node:stream'

const MiB = 1024 * 1024

export interface WriteBehind {
  /** Counts bytes handed to the file; starts a flush each `every` bytes, unless one is running. */
  wrote: (bytes: number) => void
  /** A pass-through that calls wrote() for what streams through it, to place before the file. */
  counter: () => Transform
  /** Waits for the running flush; throws the first flush that failed. */
  done: () => Promise<void>
}

/**
 * The disk's write-back of a file that is still being written: each `every` bytes, `flush`
 * (an fdatasync) starts in the background, so the durable commit after the last byte has at
 * most that much left to write, not the whole file (about 0.45 s a GiB, bench/upload).
 * A failed flush is kept and thrown by done(): once a write-back failed, Linux may not
 * report it again to a later fsync, so the commit's own could succeed over lost bytes.
 */
export function writeBehind (flush: () => Promise<void>, every = 64 * MiB): WriteBehind {
  let unflushed = 0
  let running: Promise<void> | undefined
  let failure: { error: unknown } | undefined
  const wrote = (bytes: number) => {
    unflushed += bytes
    if (unflushed < every || running || failure) return
    unflushed = 0
    running = flush().catch((error: unknown) => { failure ??= { error } }).finally(() => { running = undefined })
  }
  return {
    wrote,
    counter: () => new Transform({
      transform (chunk: Buffer, _encoding, done) {
        wrote(chunk.length)
        done(null, chunk)
      }
    }),
    async done () {
      await running
      if (failure) throw failure.error
    }
  }
}
