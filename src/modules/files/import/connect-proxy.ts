import { randomBytes, timingSafeEqual } from 'node:crypto'
import dns from 'node:dns'
import { createServer, type IncomingMessage } from 'node:http'
import { connect, isIP, type AddressInfo, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { addressProblem } from './address-policy.ts'
import { checkedLookup } from './safe-fetch.ts'

export interface ConnectProxyOptions {
  allowedPorts: readonly number[]
  /** Skips the address policy entirely (tests, trusted LAN deployments). */
  allowPrivate: boolean
  /** Policy override for tests: returns a reason to refuse, or undefined to allow. */
  addressAllowed?: (ip: string) => string | undefined
  lookup?: typeof dns.lookup
  connectTimeoutMs?: number
  /** Called with each refused or failed tunnel, for the log. */
  onRefusal?: (target: string, reason: string) => void
}

export interface ConnectProxy {
  /** http://user:secret@127.0.0.1:port, for yt-dlp's --proxy. */
  url: string
  close: () => Promise<void>
}

const USER = 'tympan'

/**
 * A loopback HTTP CONNECT proxy through which yt-dlp makes every connection (page, API,
 * CDN, manifest, redirect), so that each one passes the address policy of safe-fetch:
 * the target is resolved with the same checked lookup and the socket goes to the address
 * that was checked. Written here rather than taken from `proxy` or `proxy-chain`: both
 * open the upstream socket themselves, with no hook to resolve, judge and pin the address.
 * Only CONNECT to an allowed port is served; the per-download secret keeps other local
 * processes out (a process that read it from yt-dlp's argv still gets no further than
 * the policy allows anyone).
 */
export async function startConnectProxy (options: ConnectProxyOptions): Promise<ConnectProxy> {
  const secret = randomBytes(24).toString('hex')
  const expected = Buffer.from(`Basic ${Buffer.from(`${USER}:${secret}`).toString('base64')}`)
  const judge = options.allowPrivate ? undefined : (options.addressAllowed ?? addressProblem)
  const resolve = options.lookup ?? dns.lookup
  const tunnels = new Set<Socket | Duplex>()

  const refuse = (client: Duplex, status: string, target: string, reason: string, headers = '') => {
    options.onRefusal?.(target, reason)
    client.end(`HTTP/1.1 ${status}\r\n${headers}Connection: close\r\nContent-Length: 0\r\n\r\n`)
  }

  const server = createServer((_request, response) => {
    response.writeHead(405, { allow: 'CONNECT', connection: 'close' }).end()
  })

  server.on('connect', (request: IncomingMessage, client: Duplex, head: Buffer) => {
    tunnels.add(client)
    client.on('close', () => tunnels.delete(client))
    client.on('error', () => client.destroy())
    const target = request.url ?? ''
    const given = Buffer.from(request.headers['proxy-authorization'] ?? '')
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return refuse(client, '407 Proxy Authentication Required', target, 'bad proxy credentials', 'Proxy-Authenticate: Basic realm="tympan"\r\n')
    }
    const parsed = parseAuthority(target)
    if (!parsed) return refuse(client, '400 Bad Request', target, 'not host:port')
    if (!options.allowedPorts.includes(parsed.port)) return refuse(client, '403 Forbidden', target, `port ${parsed.port} is not allowed`)
    const literalProblem = isIP(parsed.host) ? judge?.(parsed.host) : undefined
    if (literalProblem) return refuse(client, '403 Forbidden', target, `${parsed.host} is not a public address (${literalProblem})`)

    let refusal: string | undefined
    let established = false
    const upstream = connect({
      host: parsed.host,
      port: parsed.port,
      timeout: options.connectTimeoutMs ?? 5_000,
      lookup: checkedLookup(resolve, judge, (error) => { refusal = error.message })
    })
    tunnels.add(upstream)
    upstream.on('close', () => tunnels.delete(upstream))
    upstream.once('timeout', () => upstream.destroy(new Error(`connecting to ${target} timed out`)))
    upstream.once('connect', () => {
      established = true
      upstream.setTimeout(0)
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head.length > 0) upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    upstream.on('error', (error) => {
      if (established) client.destroy()
      else refuse(client, refusal ? '403 Forbidden' : '502 Bad Gateway', target, refusal ?? error.message)
    })
    client.on('close', () => upstream.destroy())
  })

  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolvePromise())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${USER}:${secret}@127.0.0.1:${port}`,
    close: () => new Promise((resolvePromise) => {
      for (const socket of tunnels) socket.destroy()
      server.close(() => resolvePromise())
    })
  }
}

/** Pure: the host and port of a CONNECT target (`example.org:443`, `[2001:db8::1]:443`). */
export function parseAuthority (authority: string): { host: string, port: number } | undefined {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^\s:[\]/@]+)):(\d{1,5})$/i.exec(authority)
  if (!match) return undefined
  const port = Number(match[3])
  if (port < 1 || port > 65535) return undefined
  return { host: (match[1] ?? match[2])!, port }
}
