import { createHash } from 'node:crypto'
import { Transform } from 'node:stream'
import type { WriteOptions, Written } from './storage.ts'

export interface Meter<W> {
  stream: Transform
  written: () => W
}

/** A pass-through that counts and hashes (unless `hash: false`) the bytes streaming through it, for every writer of objects. */
export function byteMeter (): Meter<Required<Written>>
export function byteMeter (options: WriteOptions | undefined): Meter<Written>
export function byteMeter (options: WriteOptions = {}): Meter<Written> {
  const hash = options.hash === false ? undefined : createHash('sha256')
  let size = 0
  const stream = new Transform({
    transform (chunk: Buffer, _encoding, done) {
      size += chunk.length
      hash?.update(chunk)
      done(null, chunk)
    }
  })
  return { stream, written: () => hash ? { size, sha256: hash.digest('hex') } : { size } }
}
