import type { destination } from 'pino'

type SonicBoom = ReturnType<typeof destination>

/**
 * A pino destination in front of a sonic-boom one: the lines logged in one turn of the event
 * loop reach it as one write, at the end of that turn (setImmediate), so a quiet server's
 * lines still leave at once. Under load that is one write(2) for every request of the turn
 * instead of one each: a line costs an array push. Written here because sonic-boom's own
 * buffering (minLength) re-measures its whole buffer, as UTF-8, on every line it appends, and
 * without it each line is a system call (synchronous) or a thread-pool hop (asynchronous):
 * measured ~2.5 and ~4 µs a line, against ~0.6 batched (docs/performance.md, "Request path").
 * On exit, what waits is written synchronously; `close` undoes that registration.
 */
export class LineBatch {
  readonly inner: SonicBoom
  #lines: string[] = []
  #scheduled = false
  readonly #onExit = () => {
    try {
      this.flushSync()
    } catch {
      // The destination is closed or not open: nothing of it can be written now.
    }
  }

  constructor (inner: SonicBoom) {
    this.inner = inner
    process.on('exit', this.#onExit)
  }

  write (line: string): boolean {
    this.#lines.push(line)
    if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(this.#release)
    }
    return true
  }

  /** Hands every waiting line to the destination (as one write). */
  readonly release = (): void => {
    const lines = this.#lines
    if (lines.length === 0) return
    this.#lines = []
    this.inner.write(lines.length === 1 ? lines[0] as string : lines.join(''))
  }

  readonly #release = () => {
    this.#scheduled = false
    this.release()
  }

  flushSync (): void {
    this.release()
    this.inner.flushSync()
  }

  /** Releases what waits and stops writing it at exit (the destination itself stays open). */
  close (): void {
    this.release()
    process.off('exit', this.#onExit)
  }
}
