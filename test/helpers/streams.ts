import { Readable } from 'node:stream'

/** A request body that sends the first `sent` bytes of `bytes`, then fails as a dropped connection does. */
export function cutOff (bytes: Buffer, sent: number): Readable {
  let at = 0
  return new Readable({
    read () {
      if (at >= sent) {
        this.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }))
        return
      }
      this.push(bytes.subarray(at, Math.min(sent, at + 16_384)))
      at += 16_384
    }
  })
}
