import assert from 'node:assert/strict'
import type dns from 'node:dns'
import { request } from 'node:http'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { parseAuthority, startConnectProxy, type ConnectProxy, type ConnectProxyOptions } from './connect-proxy.ts'

interface Answer { status: number, head: string, socket: Socket }

/** Sends one CONNECT through `proxy` and resolves with the status line and the open socket. */
function tunnel (proxy: ConnectProxy, target: string, credentials = true): Promise<Answer> {
  const { port, username, password } = new URL(proxy.url)
  const auth = credentials ? `Proxy-Authorization: Basic ${Buffer.from(`${username}:${password}`).toString('base64')}\r\n` : ''
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1')
    let received = ''
    socket.once('connect', () => socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth}\r\n`))
    socket.on('data', function onData (chunk: Buffer) {
      received += chunk.toString('latin1')
      const end = received.indexOf('\r\n\r\n')
      if (end === -1) return
      socket.off('data', onData)
      resolve({ status: Number(received.split(' ')[1]), head: received.slice(0, end), socket })
    })
    socket.once('error', reject)
  })
}

const localhostLookup = ((_hostname: string, _options: unknown, callback: (error: null, addresses: dns.LookupAddress[]) => void) => {
  process.nextTick(() => callback(null, [{ address: '127.0.0.1', family: 4 }]))
}) as unknown as typeof dns.lookup

describe('parseAuthority', () => {
  it('reads host:port and bracketed IPv6, and nothing else', () => {
    assert.deepEqual(parseAuthority('example.org:443'), { host: 'example.org', port: 443 })
    assert.deepEqual(parseAuthority('[2001:db8::1]:443'), { host: '2001:db8::1', port: 443 })
    for (const bad of ['example.org', 'example.org:', 'example.org:99999', 'user@example.org:443', 'http://example.org:443', '2001:db8::1:443', 'a b:443']) {
      assert.equal(parseAuthority(bad), undefined, bad)
    }
  })
})

describe('startConnectProxy', () => {
  let echo: Server
  let echoPort: number
  const refusals: string[] = []
  const start = (options: Partial<ConnectProxyOptions> = {}) => startConnectProxy({
    allowedPorts: [443],
    allowPrivate: false,
    onRefusal: (target, reason) => refusals.push(`${target}: ${reason}`),
    ...options
  })

  before(async () => {
    echo = createServer((socket) => socket.pipe(socket))
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve))
    echoPort = (echo.address() as AddressInfo).port
  })
  after(() => new Promise<void>((resolve) => echo.close(() => resolve())))

  it('refuses CONNECT to loopback, private and IPv6 loopback targets with the real policy', async () => {
    const proxy = await start({ allowedPorts: [443, echoPort] })
    try {
      for (const target of ['127.0.0.1:443', `127.0.0.1:${echoPort}`, '10.0.0.1:443', '[::1]:443', '169.254.169.254:443', '[::ffff:127.0.0.1]:443']) {
        const answer = await tunnel(proxy, target)
        assert.equal(answer.status, 403, target)
        answer.socket.destroy()
      }
      // A name is judged by what it resolves to, as in safe-fetch.
      const named = await startConnectProxy({ allowedPorts: [echoPort], allowPrivate: false, lookup: localhostLookup })
      try {
        const answer = await tunnel(named, `files.example:${echoPort}`)
        assert.equal(answer.status, 403)
        answer.socket.destroy()
      } finally {
        await named.close()
      }
      assert.match(refusals.join('\n'), /10\.0\.0\.1 is not a public address \(private address\)/)
    } finally {
      await proxy.close()
    }
  })

  it('refuses ports outside the allowed list, before resolving anything', async () => {
    const proxy = await start({ addressAllowed: () => undefined })
    try {
      for (const target of [`127.0.0.1:${echoPort}`, 'example.org:22', 'example.org:80']) {
        const answer = await tunnel(proxy, target)
        assert.equal(answer.status, 403, target)
        answer.socket.destroy()
      }
    } finally {
      await proxy.close()
    }
  })

  it('refuses a client without the per-download secret, and any method but CONNECT', async () => {
    const proxy = await start({ allowedPorts: [echoPort], addressAllowed: () => undefined })
    try {
      const anonymous = await tunnel(proxy, `127.0.0.1:${echoPort}`, false)
      assert.equal(anonymous.status, 407)
      assert.match(anonymous.head, /Proxy-Authenticate: Basic/)
      anonymous.socket.destroy()
      const other = await startConnectProxy({ allowedPorts: [echoPort], allowPrivate: false, addressAllowed: () => undefined })
      try {
        // The other proxy's credentials are not this one's.
        const borrowed = await tunnel({ ...proxy, url: proxy.url.replace(/:[0-9a-f]{48}@/, `:${new URL(other.url).password}@`) }, `127.0.0.1:${echoPort}`)
        assert.equal(borrowed.status, 407)
        borrowed.socket.destroy()
      } finally {
        await other.close()
      }
      const status = await new Promise<number>((resolve, reject) => {
        request(`http://127.0.0.1:${new URL(proxy.url).port}/`, { method: 'GET', headers: { host: 'example.org' } }, (res) => { res.resume(); resolve(res.statusCode ?? 0) })
          .on('error', reject).end()
      })
      assert.equal(status, 405)
    } finally {
      await proxy.close()
    }
  })

  it('tunnels bytes to a target the policy allows, connecting to the checked address', async () => {
    const proxy = await start({ allowedPorts: [echoPort], addressAllowed: (ip) => (ip === '127.0.0.1' ? undefined : 'loopback'), lookup: localhostLookup })
    try {
      const answer = await tunnel(proxy, `media.example:${echoPort}`)
      assert.equal(answer.status, 200)
      const echoed = await new Promise<string>((resolve) => {
        answer.socket.once('data', (chunk: Buffer) => resolve(chunk.toString()))
        answer.socket.write('ping through the tunnel')
      })
      assert.equal(echoed, 'ping through the tunnel')
      answer.socket.destroy()
    } finally {
      await proxy.close()
    }
  })

  it('answers 502 when the allowed target does not accept the connection', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const proxy = await start({ allowedPorts: [port], addressAllowed: () => undefined })
    try {
      const answer = await tunnel(proxy, `127.0.0.1:${port}`)
      assert.equal(answer.status, 502)
      answer.socket.destroy()
    } finally {
      await proxy.close()
    }
  })
})
