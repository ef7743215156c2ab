import fs from 'node:fs'
import { Writable } from 'node:stream'

export interface BatchedFileOptions {
  /** 'wx' for a new file (fails when one exists), 'r+' to write into an existing one. */
  flags: 'wx' | 'r+'
  mode?: number
  /** Where the first byte goes; 0 unless given. */
  start?: number
  /** Bytes gathered before each write. */
  batch?: number
}

/**
 * A file stream that writes in writev calls of about `batch` bytes. fs.WriteStream writes
 * each chunk by itself whenever the disk is idle, which it nearly always is for the page
 * cache: one write (and a thread pool round trip) per 64 KiB socket read, about 16,000 a GiB.
 * Chunks are held, not copied, until the batch is full or the stream ends; as with any
 * buffered writer, a stream destroyed before its end loses what it held. Emits 'open' once
 * the file is open.
 */
export function batchedFileWriter (file: string, options: BatchedFileOptions): Writable {
  const batch = options.batch ?? 512 * 1024
  let fd: number | undefined
  let position = options.start ?? 0
  let held: Buffer[] = []
  let heldBytes = 0

  const flush = (done: (error?: Error | null) => void) => {
    if (heldBytes === 0) return done()
    const buffers = held
    const bytes = heldBytes
    held = []
    heldBytes = 0
    writeAll(buffers, bytes, done)
  }
  // One pwritev may write less than asked (a disk filling up writes what fits, and only the
  // next call fails, with ENOSPC): the rest is written again until it is all out or the
  // system says why not, so the caller sees the real error (a full disk is a 507).
  const writeAll = (buffers: Buffer[], bytes: number, done: (error?: Error | null) => void) => {
    fs.writev(fd!, buffers, position, (error, written) => {
      if (error) return done(error)
      position += written
      if (written === bytes) return done()
      if (written === 0) return done(new Error(`wrote 0 of ${bytes} bytes to ${file}`))
      writeAll(rest(buffers, written), bytes - written, done)
    })
  }
  const hold = (chunk: Buffer) => {
    held.push(chunk)
    heldBytes += chunk.length
  }

  const stream: Writable = new Writable({
    highWaterMark: 1 << 20,
    construct (done) {
      fs.open(file, options.flags, options.mode ?? 0o666, (error, opened) => {
        if (error) return done(error)
        fd = opened
        stream.emit('open', opened)
        done()
      })
    },
    write (chunk: Buffer, _encoding, done) {
      hold(chunk)
      if (heldBytes < batch) return done()
      flush(done)
    },
    writev (chunks, done) {
      for (const { chunk } of chunks) hold(chunk as Buffer)
      if (heldBytes < batch) return done()
      flush(done)
    },
    final (done) {
      flush(done)
    },
    destroy (error, done) {
      held = []
      if (fd === undefined) return done(error)
      fs.close(fd, (closeError) => { done(error ?? closeError) })
    }
  })
  return stream
}

/** The buffers after the first `skip` bytes of them (views, not copies). */
function rest (buffers: Buffer[], skip: number): Buffer[] {
  let i = 0
  while (i < buffers.length && skip >= (buffers[i] as Buffer).length) skip -= (buffers[i++] as Buffer).length
  const out = buffers.slice(i)
  if (skip > 0 && out.length > 0) out[0] = (out[0] as Buffer).subarray(skip)
  return out
}
