import type { Readable } from 'node:stream'

/**
 * Resolves with `stream` once its first bytes are in (or it has ended), rejects with its
 * error. A route that waits for it can still answer a failing store with a problem: once
 * it has sent 200 and its headers, a failure can only cut the connection.
 */
export async function opened (stream: Readable): Promise<Readable> {
  await new Promise<void>((resolve, reject) => {
    const settle = (error?: Error) => {
      stream.off('readable', ready).off('error', settle)
      if (error) reject(error)
      else resolve()
    }
    const ready = () => { settle() }
    stream.once('readable', ready).once('error', settle)
  })
  return stream
}
