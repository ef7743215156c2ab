import { spawn } from 'node:child_process'
import { EngineError } from './engine.ts'

export interface ProcessOptions {
  signal: AbortSignal
  timeoutMs: number
  /** Called with each complete stderr line (ffmpeg `-progress`, recogniser logs). */
  onStderrLine?: (line: string) => void
  /** Called with each complete stdout line; stdout is then not kept. */
  onStdoutLine?: (line: string) => void
  cwd?: string
  /** Bytes of stdout/stderr kept for the result; more is dropped, never buffered. */
  maxOutput?: number
  /** Package that provides the binary, named in the error when it is not installed. */
  pkg: string
}

export interface ProcessResult {
  stdout: string
  stderr: string
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
 * Runs an engine binary with an argv array (never a shell). The signal and the time budget
 * both kill it with SIGKILL: an engine that hangs must not hold a worker slot. A non-zero exit
 * is `transient` (crashes are worth one more attempt); the caller turns known exit patterns
 * into `invalid-input` itself.
 */
export function runProcess (binary: string, args: string[], options: ProcessOptions): Promise<ProcessResult> {
  const maxOutput = options.maxOutput ?? 1 << 20
  return new Promise((resolve, reject) => {
    if (options.signal.aborted) { reject(new EngineError('canceled', 'The job was canceled.')); return }
    // Its own process group, so a stop reaches whatever the binary started too (a wrapper
    // script's child would otherwise keep running and hold the pipes open).
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...(options.cwd ? { cwd: options.cwd } : {}) })
    let stdout = ''
    let stderr = ''
    let ended: 'timeout' | 'canceled' | undefined
    const stop = (why: 'timeout' | 'canceled') => {
      ended ??= why
      try { process.kill(-child.pid!, 'SIGKILL') } catch { child.kill('SIGKILL') }
    }
    const timer = setTimeout(() => { stop('timeout') }, options.timeoutMs)
    const onAbort = () => { stop('canceled') }
    options.signal.addEventListener('abort', onAbort, { once: true })
    const out = options.onStdoutLine ? lineSplitter(options.onStdoutLine) : undefined
    const err = options.onStderrLine ? lineSplitter(options.onStderrLine) : undefined
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (out) out.push(d)
      else if (stdout.length < maxOutput) stdout += d
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err?.push(d)
      if (stderr.length < maxOutput) stderr += d
    })
    const finish = () => { clearTimeout(timer); options.signal.removeEventListener('abort', onAbort) }
    child.on('error', (error: NodeJS.ErrnoException) => {
      finish()
      reject(error.code === 'ENOENT'
        ? new EngineError('missing-engine', `${binary} is not installed: install the Debian package ${options.pkg}.`)
        : new EngineError('transient', `${binary} could not start (${error.code ?? 'error'}).`, { cause: error }))
    })
    child.on('close', (code, signal) => {
      finish()
      out?.end()
      err?.end()
      if (ended === 'canceled') { reject(new EngineError('canceled', 'The job was canceled.')); return }
      if (ended === 'timeout') { reject(new EngineError('timeout', `${binary} did not finish within ${Math.round(options.timeoutMs / 1000)} s and was stopped.`)); return }
      if (code !== 0) {
        reject(new EngineError('transient', `${binary} failed (${signal ? `killed by ${signal}` : `exit code ${String(code)}`}).`, { cause: new Error(stderr.slice(-2000)) }))
        return
      }
      resolve({ stdout, stderr })
    })
  })
}
