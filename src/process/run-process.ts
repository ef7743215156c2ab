import { spawn } from 'node:child_process'
import type { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'

export type ProcessErrorKind = 'missing' | 'start' | 'timeout' | 'aborted' | 'exit'

export interface RunOptions {
  /** Stops the child (and its group) at once; the run then rejects with kind `aborted`. */
  signal?: AbortSignal
  /** The time budget; past it the group is stopped and the run rejects with kind `timeout`. */
  timeoutMs: number
  /**
   * How a stop ends the group. Unset: SIGKILL at once (a hung engine must not hold a worker
   * slot). A number: SIGTERM, then SIGKILL after that many milliseconds, for tools that clean
   * up after themselves.
   */
  graceMs?: number
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Characters of stdout and of stderr kept for the result; more is dropped, never buffered. */
  maxOutput?: number
  /** Which end of an overlong output is kept: the head (a parser's JSON) or the tail (a log). */
  keep?: 'head' | 'tail'
  /** Called with each complete stdout line; stdout is then not kept. */
  onStdoutLine?: (line: string) => void
  /** Called with each complete stderr line (ffmpeg `-progress`, recogniser logs). */
  onStderrLine?: (line: string) => void
  /** Raw stdout is piped here with backpressure (decoded PCM); stdout is then not kept. */
  stdout?: Writable
  /** Resolve on any exit, successful or not, instead of rejecting with kind `exit`. */
  allowFailure?: boolean
  /**
   * Written to the child's stdin, which is then closed: how client text reaches a tool
   * (apertium, festival) as data, never as an argument it could read as an option.
   */
  input?: string | Buffer
}

export interface RunResult {
  exitCode: number | null
  /** The signal that ended the child, when one did (from outside: a stop by us rejects). */
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

// Enough of a tool's last words to say why it failed, small enough for a log line.
const STDERR_TAIL = 2000

/**
 * What went wrong, by kind, with what the child said so far. The callers phrase it for their
 * own users ("install the Debian package X", "the job was canceled"): this layer knows no
 * packages and no clients.
 */
export class ProcessError extends Error {
  readonly kind: ProcessErrorKind
  readonly binary: string
  readonly exitCode: number | null
  readonly exitSignal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  /** The last 2000 characters of stderr, whatever `keep` and `maxOutput` kept. */
  readonly stderrTail: string

  constructor (kind: ProcessErrorKind, binary: string, message: string, details: Partial<RunResult> & { stderrTail?: string, cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'ProcessError'
    this.kind = kind
    this.binary = binary
    this.exitCode = details.exitCode ?? null
    this.exitSignal = details.signal ?? null
    this.stdout = details.stdout ?? ''
    this.stderr = details.stderr ?? ''
    this.stderrTail = details.stderrTail ?? ''
  }
}

function collector (max: number, keep: 'head' | 'tail') {
  let text = ''
  return {
    push (chunk: string) {
      if (keep === 'tail') text = (text + chunk).slice(-max)
      else if (text.length < max) text += chunk.slice(0, max - text.length)
    },
    get text () { return text }
  }
}

function lineSplitter (onLine: (line: string) => void) {
  let rest = ''
  return {
    push (chunk: string) {
      const lines = (rest + chunk).split(/\r?\n|\r/)
      rest = lines.pop() ?? ''
      for (const line of lines) onLine(line)
    },
    end () { if (rest) onLine(rest); rest = '' }
  }
}

/**
 * Runs a binary with an argv array, never a shell, so nothing in an argument is ever
 * interpreted. The child leads its own process group, and a stop (time budget, abort) signals
 * the whole group: a wrapper script's child or the ffmpeg that yt-dlp starts would otherwise
 * keep running and hold the pipes open. The only module that imports node:child_process.
 */
export function runProcess (binary: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const { signal, timeoutMs, graceMs } = options
  const max = options.maxOutput ?? 1 << 20
  const keep = options.keep ?? 'head'
  return new Promise((resolve, reject) => {
    if (signal?.aborted) { reject(new ProcessError('aborted', binary, `${binary} was not started: aborted`, { cause: signal.reason })); return }
    const child = spawn(binary, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      ...(options.env ? { env: options.env } : {})
    })
    const stdout = collector(max, keep)
    const stderr = collector(max, keep)
    const tail = collector(STDERR_TAIL, 'tail')
    const outLines = options.onStdoutLine ? lineSplitter(options.onStdoutLine) : undefined
    const errLines = options.onStderrLine ? lineSplitter(options.onStderrLine) : undefined
    const output = () => ({ stdout: stdout.text, stderr: stderr.text, stderrTail: tail.text })

    let stopped: { kind: 'timeout' | 'aborted', cause?: unknown } | { kind: 'consumer', error: unknown } | undefined
    let graceTimer: NodeJS.Timeout | undefined
    const kill = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return
      try { process.kill(-child.pid, sig) } catch { child.kill(sig) }
    }
    const stop = (why: NonNullable<typeof stopped>) => {
      if (stopped) return
      stopped = why
      if (graceMs === undefined) { kill('SIGKILL'); return }
      kill('SIGTERM')
      graceTimer = setTimeout(() => { kill('SIGKILL') }, graceMs)
    }
    const timer = setTimeout(() => { stop({ kind: 'timeout' }) }, timeoutMs)
    // Without input, stdin is closed at once: a tool that reads it sees an empty file. A child
    // that exits without reading all of its input closes the pipe: EPIPE is its answer, to
    // judge by its exit, not an error of ours.
    child.stdin.on('error', () => {})
    if (options.input === undefined) child.stdin.end()
    else child.stdin.end(options.input)
    const onAbort = () => { stop({ kind: 'aborted', cause: signal?.reason }) }
    signal?.addEventListener('abort', onAbort, { once: true })

    // A consumer that fails (a full disk under the PCM) stops the child; one that is slow
    // slows it, through the pipe, instead of filling memory.
    const piped = options.stdout
      ? pipeline(child.stdout, options.stdout).catch((error: unknown) => { stop({ kind: 'consumer', error }) })
      : undefined
    if (!piped) {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        if (outLines) outLines.push(d)
        else stdout.push(d)
      })
    }
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      errLines?.push(d)
      stderr.push(d)
      tail.push(d)
    })

    let settled = false
    const settle = () => {
      if (settled) return false
      settled = true
      clearTimeout(timer)
      clearTimeout(graceTimer)
      signal?.removeEventListener('abort', onAbort)
      return true
    }
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (!settle()) return
      reject(error.code === 'ENOENT'
        ? new ProcessError('missing', binary, `${binary} is not installed`, { cause: error })
        : new ProcessError('start', binary, `${binary} could not start (${error.code ?? 'error'})`, { cause: error }))
    })
    child.on('close', (exitCode, exitSignal) => {
      void Promise.resolve(piped).then(() => {
        if (!settle()) return
        outLines?.end()
        errLines?.end()
        const result = { exitCode, signal: exitSignal, ...output() }
        if (stopped?.kind === 'consumer') reject(stopped.error)
        else if (stopped?.kind === 'timeout') reject(new ProcessError('timeout', binary, `${binary} did not finish within ${timeoutMs} ms`, result))
        else if (stopped?.kind === 'aborted') reject(new ProcessError('aborted', binary, `${binary} was stopped: aborted`, { ...result, cause: stopped.cause }))
        else if (exitCode !== 0 && !options.allowFailure) {
          reject(new ProcessError('exit', binary, `${binary} failed (${exitSignal ? `killed by ${exitSignal}` : `exit code ${String(exitCode)}`})`, result))
        } else resolve({ exitCode, signal: exitSignal, stdout: stdout.text, stderr: stderr.text })
      })
    })
  })
}
