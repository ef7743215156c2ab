import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { Redis } from 'ioredis'
import S3rver from 's3rver'
import { freePort } from './net.ts'

/**
 * Private instances of the scale-out services, for tests and benches that must stop, restart
 * or fill them: the machine's shared PostgreSQL and Redis serve every other test at once, so
 * nobody may stop those. Each instance listens on 127.0.0.1 on a free port and keeps its
 * data in a temporary directory that goes when it is closed.
 */
export interface Service {
  url: string
  /** Stops the server, keeping its data: a later start() brings the same data back. */
  stop: () => Promise<void>
  start: () => Promise<void>
  /** Stops it for good and removes its data. */
  close: () => Promise<void>
}

async function waitForPort (port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1')
      socket.once('connect', () => { socket.destroy(); resolve(true) })
      socket.once('error', () => { resolve(false) })
    })
    if (open) return
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function stopChild (child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill(signal)
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/** A Redis server of its own (`redis-server` from Debian), nothing persisted. */
export async function startRedis (): Promise<Service> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    await waitForPort(port, 10_000)
  }
  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    start,
    stop: async () => { await stopChild(child) },
    close: async () => { await stopChild(child) }
  }
}

const PG_BIN = (() => {
  const root = '/usr/lib/postgresql'
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : []
  return versions.length > 0 ? path.join(root, versions[0]!, 'bin') : ''
})()

/**
 * A PostgreSQL cluster of its own (Debian's binaries), trust auth for `postgres`, database
 * `tympan`. PostgreSQL refuses to run as root, so under root it runs as the `postgres` user.
 */
export async function startPostgres (): Promise<Service> {
  if (!PG_BIN) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql')
  const port = await freePort()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-pg-'))
  const data = path.join(dir, 'data')
  const asPostgres = process.getuid?.() === 0
  if (asPostgres) spawnSync('chown', ['postgres:postgres', dir])
  const run = (bin: string, args: string[]) => asPostgres
    ? { cmd: 'runuser', args: ['-u', 'postgres', '--', path.join(PG_BIN, bin), ...args] }
    : { cmd: path.join(PG_BIN, bin), args }
  const init = run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'])
  const done = spawnSync(init.cmd, init.args, { encoding: 'utf8' })
  if (done.status !== 0) throw new Error(`initdb failed: ${done.stderr.slice(-500)}`)

  let child: ChildProcess | undefined
  const start = async () => {
    const server = run('postgres', ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200'])
    child = spawn(server.cmd, server.args, { stdio: 'ignore' })
    await waitForPort(port, 20_000)
  }
  await start()
  const psql = run('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-c', 'CREATE DATABASE tympan'])
  for (let attempt = 0; ; attempt++) {
    const created = spawnSync(psql.cmd, psql.args, { encoding: 'utf8' })
    if (created.status === 0) break
    // Listening comes a moment before the server accepts connections.
    if (attempt > 50) throw new Error(`CREATE DATABASE failed: ${created.stderr.slice(-500)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  // Fast shutdown (ends sessions, no wait for clients) through pg_ctl: a signal to runuser
  // reaches PostgreSQL as SIGTERM, its smart shutdown, which waits for every client to leave.
  const stop = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const stopped = run('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w'])
    spawnSync(stopped.cmd, stopped.args, { stdio: 'ignore' })
    await stopChild(child, 'SIGINT')
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/tympan`,
    start,
    stop,
    close: async () => {
      await stop()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

export interface S3Service extends Service {
  endpoint: string
  bucket: string
  /** s3rver's data directory: multipart uploads in progress are `<bucket>/._S3rver_uploads/<uploadId>/`. */
  directory: string
  /** The environment that points Tympan at this store (STORAGE_URL, S3_ENDPOINT, the AWS keys). */
  env: Record<string, string>
}

interface S3Context {
  method: string
  path: string
  query: Record<string, string | string[] | undefined>
  headers: Record<string, string | string[] | undefined>
  status: number
  type: string
  body: unknown
}
type S3Middleware = (ctx: S3Context, next: () => Promise<void>) => Promise<void>

const xmlEscape = (text: string) => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`)

/**
 * ListMultipartUploads, AbortMultipartUpload and ListParts, which s3rver 3 lacks and the
 * storage driver's sweep and tus's S3Store need, over s3rver's own layout: `<dir>/<bucket>/._S3rver_uploads/<uploadId>/key`.
 * An upload's Initiated time is the mtime of its `key` file, so a test can age it.
 */
function multipartUploadsMiddleware (dir: string): S3Middleware {
  return async (ctx, next) => {
    const [bucket, ...keyParts] = ctx.path.split('/').filter((part) => part !== '')
    const uploads = path.join(dir, bucket ?? '', '._S3rver_uploads')
    if (ctx.method === 'GET' && keyParts.length === 0 && 'uploads' in ctx.query) {
      const prefix = typeof ctx.query.prefix === 'string' ? ctx.query.prefix : ''
      const entries = fs.existsSync(uploads) ? fs.readdirSync(uploads) : []
      const listed = entries.flatMap((uploadId) => {
        const keyFile = path.join(uploads, uploadId, 'key')
        if (!fs.existsSync(keyFile)) return []
        const key = fs.readFileSync(keyFile, 'utf8')
        return key.startsWith(prefix) ? [`<Upload><Key>${xmlEscape(key)}</Key><UploadId>${uploadId}</UploadId><Initiated>${fs.statSync(keyFile).mtime.toISOString()}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`] : []
      })
      ctx.type = 'application/xml'
      ctx.body = `<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${xmlEscape(bucket ?? '')}</Bucket><Prefix>${xmlEscape(prefix)}</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>${listed.join('')}</ListMultipartUploadsResult>`
      return
    }
    const uploadId = ctx.query.uploadId
    if (ctx.method === 'DELETE' && keyParts.length > 0 && typeof uploadId === 'string' && /^[0-9a-f]+$/.test(uploadId)) {
      fs.rmSync(path.join(uploads, uploadId), { recursive: true, force: true })
      ctx.status = 204
      return
    }
    if (ctx.method === 'GET' && keyParts.length > 0 && typeof uploadId === 'string' && !('partNumber' in ctx.query)) {
      ctx.type = 'application/xml'
      const upload = /^[0-9a-f]+$/.test(uploadId) ? path.join(uploads, uploadId) : ''
      if (!upload || !fs.existsSync(path.join(upload, 'key'))) {
        ctx.status = 404
        ctx.body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message><UploadId>${xmlEscape(uploadId)}</UploadId></Error>`
        return
      }
      // s3rver keeps part n as `<uploadId>/<n>` with its MD5 (the part's ETag) in `<n>.md5`.
      const marker = Number(ctx.query['part-number-marker'] ?? 0)
      const parts = fs.readdirSync(upload).filter((name) => /^\d+$/.test(name)).map(Number).filter((n) => n > marker).sort((a, b) => a - b).map((n) => {
        const file = path.join(upload, String(n))
        const stat = fs.statSync(file)
        return `<Part><PartNumber>${n}</PartNumber><LastModified>${stat.mtime.toISOString()}</LastModified><ETag>"${fs.readFileSync(`${file}.md5`, 'utf8')}"</ETag><Size>${stat.size}</Size></Part>`
      })
      ctx.body = `<?xml version="1.0" encoding="UTF-8"?><ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${xmlEscape(bucket ?? '')}</Bucket><Key>${xmlEscape(keyParts.join('/'))}</Key><UploadId>${uploadId}</UploadId><PartNumberMarker>${marker}</PartNumberMarker><MaxParts>1000</MaxParts><IsTruncated>false</IsTruncated>${parts.join('')}</ListPartsResult>`
      return
    }
    await next()
  }
}

/**
 * s3rver (an S3-compatible server in Node, from the registry) with one bucket. It is a test
 * double for the protocol, not a store for production (docs/storage.md).
 */
/** One request as it reached the store, for tests that assert what the client sent. */
export interface S3Request {
  method: string
  path: string
  query: Record<string, string | string[] | undefined>
  headers: Record<string, string | string[] | undefined>
}

export async function startS3 (prefix = 'tympan', options: { onRequest?: (request: S3Request) => void } = {}): Promise<S3Service> {
  const port = await freePort()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-s3-'))
  const bucket = 'tympan-test'
  let server: S3rver | undefined
  const start = async () => {
    server = new S3rver({ port, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: bucket, configs: [] }] })
    // First in the chain: s3rver's own router would refuse these calls with a 501 error.
    ;(server as unknown as { middleware: S3Middleware[] }).middleware.unshift(multipartUploadsMiddleware(dir))
    const { onRequest } = options
    if (onRequest) {
      ;(server as unknown as { middleware: S3Middleware[] }).middleware.unshift(async (ctx, next) => {
        onRequest({ method: ctx.method, path: ctx.path, query: { ...ctx.query }, headers: { ...ctx.headers } })
        await next()
      })
    }
    await server.run()
  }
  await start()
  const endpoint = `http://127.0.0.1:${port}`
  return {
    url: `s3://${bucket}/${prefix}`,
    endpoint,
    bucket,
    directory: dir,
    env: {
      STORAGE_URL: `s3://${bucket}/${prefix}`,
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER'
    },
    start,
    stop: async () => { await server?.close(); server = undefined },
    close: async () => {
      await server?.close()
      server = undefined
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** Why the Redis at `url` cannot be used, or undefined when it answers a PING. */
export async function redisProblem (url: string): Promise<string | undefined> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.ping()
    return undefined
  } catch (error) {
    return (error as Error).message
  } finally {
    client.disconnect()
  }
}
