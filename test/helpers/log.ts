import { Writable } from 'node:stream'

/** A logger destination that keeps every JSON line the app writes, for tests to read. */
export function memoryLog (): { lines: string[], stream: Writable } {
  const lines: string[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
      done()
    }
  })
  return { lines, stream }
}
