import { createHash } from 'node:crypto'
import { Transform } from 'node:stream'
import type { Written } from './storage.ts'

/** A pass-through that counts and hashes the bytes streaming through it, for every writer of objects. */
export function byteMeter (): { stream: Transform, written: () => Written } {
  const hash = createHash('sha256')
  let size = 0
  const stream = new Transform({
    transform (chunk: Buffer, _encoding, done) {
      size += chunk.length
      hash.update(chunk)
      done(null, chunk)
    }
  })
  return { stream, written: () => ({ size, sha256: hash.digest('hex') }) }
}
