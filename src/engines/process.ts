import type { Writable } from 'node:stream'
import { ProcessError, runProcess as run } from '../process/run-process.ts'
import { EngineError } from './engine.ts'

export interface ProcessOptions {
  signal: AbortSignal
  timeoutMs: number
  /** Called with each complete stderr line (ffmpeg `-progress`, recogniser logs). */
  onStderrLine?: (line: string) => void
  /** Called with each complete stdout line; stdout is then not kept. */
  onStdoutLine?: (line: string) => void
  /** Raw stdout is piped here with backpressure (decoded PCM); stdout is then not kept. */
  stdout?: Writable
  cwd?: string
  /** Bytes of stdout/stderr kept for the result; more is dropped, never buffered. */
  maxOutput?: number
  /** Written to stdin (then closed): client text goes in as data, never as an argument. */
  input?: string | Buffer
  /** Package that provides the binary, named in the error when it is not installed. */
  pkg: string
}

export interface ProcessResult {
  stdout: string
  stderr: string
}

/**
 * Runs an engine binary through the process runner and speaks the engines' error kinds. The
 * signal and the time budget both kill it with SIGKILL: an engine that hangs must not hold a
 * worker slot. A non-zero exit is `transient` (crashes are worth one more attempt); the
 * caller turns known exit patterns into `invalid-input` itself, from the stderr tail in
 * `cause`.
 */
export async function runProcess (binary: string, args: string[], options: ProcessOptions): Promise<ProcessResult> {
  const { pkg, ...rest } = options
  try {
    const { stdout, stderr } = await run(binary, args, rest)
    return { stdout, stderr }
  } catch (error) {
    if (!(error instanceof ProcessError)) throw error
    switch (error.kind) {
      case 'aborted': throw new EngineError('canceled', 'The job was canceled.')
      case 'timeout': throw new EngineError('timeout', `${binary} did not finish within ${Math.round(options.timeoutMs / 1000)} s and was stopped.`)
      case 'missing': throw new EngineError('missing-engine', `${binary} is not installed: install the Debian package ${pkg}.`)
      case 'start': throw new EngineError('transient', `${binary} could not start (${(error.cause as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: error.cause })
      case 'exit': throw new EngineError('transient', `${binary} failed (${error.exitSignal ? `killed by ${error.exitSignal}` : `exit code ${String(error.exitCode)}`}).`, { cause: new Error(error.stderrTail) })
    }
  }
}
