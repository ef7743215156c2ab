import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import { parseSealing, type BackupSealing } from './backup-crypto.ts'

/**
 * The embedded database belongs to one process, so a CLI command that needs it while
 * `tympan serve` runs asks the server instead: over a Unix socket in the data directory,
 * owner-only (0600 inside the 0700 data directory), that understands one request, a backup.
 * An encrypted backup's request carries only what writes it (backup-crypto.ts): the public
 * key, key.age already sealed by the CLI, and the manifest's MAC key; never the passphrase.
 * It is nothing like the HTTP API: whoever can open it can already read the data directory.
 */
export const controlSocketPath = (dataDir: string): string => path.join(dataDir, 'control.sock')

export interface BackupRequest {
  command: 'backup'
  /** Absolute: the server does not share the CLI's working directory. */
  dir: string
  encryption?: BackupSealing
}

export type ControlReply<T> = { ok: true, result: T } | { ok: false, error: string }

// One JSON line: a path, a command name, and an encrypted backup's sealing (a few KiB at most).
const MAX_REQUEST_BYTES = 65_536

export interface ControlServer {
  close: () => Promise<void>
}

/** Listens on `file` for backup requests, one at a time. */
export async function listenControl<T> (file: string, backup: (dir: string, encryption?: BackupSealing) => Promise<T>, log: FastifyBaseLogger): Promise<ControlServer> {
  let busy = false
  const server = net.createServer((socket) => {
    let received = ''
    socket.setEncoding('utf8')
    const reply = (answer: ControlReply<T>) => { socket.end(`${JSON.stringify(answer)}\n`) }
    socket.on('error', () => {})
    socket.on('data', (chunk: string) => {
      received += chunk
      const end = received.indexOf('\n')
      if (end < 0 && received.length <= MAX_REQUEST_BYTES) return
      socket.removeAllListeners('data')
      if (end < 0 || end > MAX_REQUEST_BYTES) return reply({ ok: false, error: 'request too long' })
      const request = parseRequest(received.slice(0, end))
      if (typeof request === 'string') return reply({ ok: false, error: request })
      if (busy) return reply({ ok: false, error: 'a backup is already running' })
      busy = true
      // The log names the directory and whether it is encrypted, never the request itself.
      log.info({ dir: request.dir, encrypted: request.encryption !== undefined }, 'backup started')
      backup(request.dir, request.encryption).then((result) => {
        log.info({ dir: request.dir }, 'backup written')
        reply({ ok: true, result })
      }, (error: unknown) => {
        log.error({ err: error, dir: request.dir }, 'backup failed')
        reply({ ok: false, error: (error as Error).message })
      }).finally(() => { busy = false })
    })
  })
  // Only this server may hold the data directory (the PGlite lock), so a socket file here
  // is a dead server's.
  fs.rmSync(file, { force: true })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(file, () => { server.off('error', reject); resolve() })
  })
  fs.chmodSync(file, 0o600)
  return {
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve())
      fs.rmSync(file, { force: true })
    })
  }
}

function parseRequest (line: string): BackupRequest | string {
  let value: Partial<BackupRequest>
  try {
    value = JSON.parse(line) as Partial<BackupRequest>
  } catch {
    return 'the request is not JSON'
  }
  if (value?.command !== 'backup') return 'the only request is a backup'
  if (typeof value.dir !== 'string' || !path.isAbsolute(value.dir)) return 'a backup needs an absolute directory'
  if (value.encryption === undefined) return { command: 'backup', dir: value.dir }
  const encryption = parseSealing(value.encryption)
  if (typeof encryption === 'string') return encryption
  return { command: 'backup', dir: value.dir, encryption }
}

/**
 * Sends `request` to the server listening on `file` and waits for its answer; undefined
 * when no server listens there (no socket, or a dead server's).
 */
export function askServer<T> (file: string, request: BackupRequest): Promise<ControlReply<T> | undefined> {
  return new Promise((resolve, reject) => {
    let answer = ''
    let connected = false
    const socket = net.createConnection(file, () => {
      connected = true
      socket.write(`${JSON.stringify(request)}\n`)
    })
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => { answer += chunk })
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!connected && (error.code === 'ENOENT' || error.code === 'ECONNREFUSED')) resolve(undefined)
      else reject(error)
    })
    socket.on('end', () => {
      try {
        resolve(JSON.parse(answer) as ControlReply<T>)
      } catch {
        reject(new Error('the server closed the control socket without an answer'))
      }
    })
  })
}
