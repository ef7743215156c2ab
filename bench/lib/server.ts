import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { freePort } from '../../test/helpers/net.ts'

const ROOT = path.resolve(import.meta.dirname, '..', '..')

export { freePort }

export interface RunningServer {
  url: string
  child: ChildProcess
  stop: () => Promise<void>
}

/**
 * Starts `tympan serve` as its own process, as an operator would, and waits until it answers
 * (at most `startTimeoutMs`: a machine shared with other work can take more than a minute).
 * `root` runs another checkout's server instead of this one's (bench/guard/compare.ts).
 */
export async function startServer (env: Record<string, string>, startTimeoutMs = 60_000, root = ROOT): Promise<RunningServer> {
  const port = await freePort()
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-bench-'))
  const child = spawn(process.execPath, [path.join(root, 'src/main.ts'), 'serve'], {
    env: { ...process.env, TYMPAN_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + startTimeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited: ${stderr}`)
    try {
      if ((await fetch(`${url}/healthz`)).ok) break
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      // A server left running would outlive the bench that gave up on it.
      child.kill('SIGKILL')
      throw new Error(`server did not start in ${startTimeoutMs} ms: ${stderr}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return {
    url,
    child,
    async stop () {
      child.kill('SIGTERM')
      await new Promise((resolve) => child.once('exit', resolve))
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

/**
 * Runs `node <script> ...args` and waits for its first line on stdout (a bare baseline server
 * prints "listening" when ready). stop() sends SIGTERM and waits for the exit.
 */
export async function startScript (script: string, args: string[]): Promise<{ child: ChildProcess, stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise<void>((resolve, reject) => {
    const exited = (code: number | null) => reject(new Error(`${path.basename(script)} exited with ${code}`))
    child.once('exit', exited)
    child.stdout?.once('data', () => {
      child.off('exit', exited)
      resolve()
    })
  })
  return {
    child,
    async stop () {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      await new Promise((resolve) => child.once('exit', resolve))
    }
  }
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

export function printTable (title: string, rows: (string | number)[][]) {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)))
  console.log(`\n${title}`)
  rows.forEach((row, index) => {
    console.log(`| ${row.map((cell, i) => String(cell).padEnd(widths[i]!)).join(' | ')} |`)
    if (index === 0) console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  })
}

/** Resident set size of a process in bytes, from VmRSS in /proc/<pid>/status (Linux only). */
export function rssBytes (pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
  if (!match) throw new Error(`no VmRSS for process ${pid}`)
  return Number(match[1]) * 1024
}

/**
 * CPU time a process has used so far (user + system, all its threads), in microseconds, from
 * /proc/<pid>/stat (Linux only; clock ticks of 10 ms, the usual USER_HZ of 100).
 */
export function cpuMicros (pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

/**
 * Samples a process's RSS every `intervalMs` from now until `stop()`, which returns the RSS
 * read at the start and the highest RSS seen (both in bytes).
 */
export function sampleRss (pid: number, intervalMs = 50): { stop: () => { before: number, peak: number } } {
  const before = rssBytes(pid)
  let peak = before
  const read = () => {
    try {
      peak = Math.max(peak, rssBytes(pid))
    } catch { /* the process has exited */ }
  }
  const timer = setInterval(read, intervalMs)
  return {
    stop () {
      clearInterval(timer)
      read()
      return { before, peak }
    }
  }
}
