import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import type dns from 'node:dns'
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs'
import { readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { localFileStores } from '../../../storage/local-storage.ts'
import { ImportError } from './import-error.ts'
import { fetchToFile, suggestedName, type FetchToFileOptions } from './safe-fetch.ts'

interface TestServer { port: number, origin: string, requests: string[], close: () => Promise<void> }

async function serve (host: string, handler: (req: IncomingMessage, res: ServerResponse) => void, port = 0): Promise<TestServer> {
  const requests: string[] = []
  const server = createServer((req, res) => {
    requests.push(req.url ?? '')
    handler(req, res)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  const bound = (server.address() as AddressInfo).port
  return {
    port: bound,
    origin: `http://${host}:${bound}`,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}

const rejectsWith = (code: string, message?: RegExp) => (error: unknown) => {
  assert.ok(error instanceof ImportError, `expected ImportError, got ${String(error)}`)
  assert.equal(error.code, code, error.message)
  if (message) assert.match(error.message, message)
  return true
}

/** A resolver that answers from a script instead of DNS; counts its calls. */
function scriptedLookup (answers: string[][]) {
  const calls: string[] = []
  const lookup = ((hostname: string, _options: unknown, callback: (error: Error | null, addresses: dns.LookupAddress[]) => void) => {
    calls.push(hostname)
    const answer = answers[Math.min(calls.length - 1, answers.length - 1)] ?? []
    process.nextTick(() => callback(null, answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))))
  }) as unknown as typeof dns.lookup
  return { lookup, calls }
}

// The downloads land in the `imports` area of a workspace rooted here.
const root = mkdtempSync(path.join(tmpdir(), 'tympan-import-'))
const dir = path.join(root, 'imports')
mkdirSync(dir)
let counter = 0
const dest = () => path.join(dir, `import-${++counter}.bin`)
// The local servers listen on random ports; the port policy has tests of its own below.
const ANY_PORT = Array.from({ length: 65_535 }, (_, i) => i + 1)
const base: FetchToFileOptions = { maxBytes: 1024 * 1024, allowHttp: true, allowedPorts: ANY_PORT, allowPrivate: false, totalTimeoutMs: 5_000, files: localFileStores(root).workspace }

after(async () => { await rm(root, { recursive: true, force: true }) })

describe('fetchToFile address policy', () => {
  it('refuses a loopback IP literal before connecting', async () => {
    const server = await serve('127.0.0.1', (_req, res) => res.end('secret'))
    try {
      const target = dest()
      await assert.rejects(fetchToFile(`${server.origin}/`, target, base), rejectsWith('address', /127\.0\.0\.1 is not a public address \(loopback address\)/))
      assert.deepEqual(server.requests, [])
      assert.equal(existsSync(target), false)
    } finally {
      await server.close()
    }
  })

  it('refuses a name that resolves to loopback (localhost)', async () => {
    const server = await serve('127.0.0.1', (_req, res) => res.end('secret'))
    try {
      await assert.rejects(fetchToFile(`http://localhost:${server.port}/`, dest(), base), rejectsWith('address', /^localhost resolves to a non-public address \(loopback/))
      assert.deepEqual(server.requests, [])
    } finally {
      await server.close()
    }
  })

  it('refuses a name when any of its addresses is non-public', async () => {
    const { lookup } = scriptedLookup([['8.8.8.8', '10.0.0.1']])
    await assert.rejects(fetchToFile('http://mixed.test/', dest(), { ...base, lookup }), rejectsWith('address', /private address/))
  })

  it('refuses https-less and credentialed URLs before connecting', async () => {
    const server = await serve('127.0.0.1', (_req, res) => res.end('x'))
    try {
      await assert.rejects(fetchToFile(`${server.origin}/`, dest(), { ...base, allowHttp: false, allowPrivate: true }), rejectsWith('scheme'))
      await assert.rejects(fetchToFile(`http://u:p@127.0.0.1:${server.port}/`, dest(), { ...base, allowPrivate: true }), rejectsWith('invalid_url'))
      assert.deepEqual(server.requests, [])
    } finally {
      await server.close()
    }
  })

  it('re-checks the address of every redirect target', async () => {
    const inner = await serve('127.0.0.1', (_req, res) => res.end('internal'))
    const outer = await serve('127.0.0.2', (_req, res) => {
      res.writeHead(302, { location: `${inner.origin}/admin` }).end()
    })
    try {
      const target = dest()
      const options = { ...base, addressAllowed: (ip: string) => (ip === '127.0.0.2' ? undefined : 'loopback') }
      await assert.rejects(fetchToFile(`${outer.origin}/start`, target, options), rejectsWith('address', /127\.0\.0\.1 is not a public address/))
      assert.deepEqual(outer.requests, ['/start'])
      assert.deepEqual(inner.requests, [])
      assert.equal(existsSync(target), false)
    } finally {
      await Promise.all([inner.close(), outer.close()])
    }
  })

  it('connects only to the address it checked (DNS rebinding)', async () => {
    const checked = await serve('127.0.0.2', (_req, res) => res.end('public content'))
    // Same port on another loopback address: where a second resolution would land.
    const rebound = await serve('127.0.0.1', (_req, res) => res.end('internal content'), checked.port)
    const { lookup, calls } = scriptedLookup([['127.0.0.2'], ['127.0.0.1']])
    try {
      const target = dest()
      const result = await fetchToFile(`http://rebind.test:${checked.port}/song.mp3`, target, {
        ...base,
        lookup,
        addressAllowed: (ip) => (ip === '127.0.0.2' ? undefined : 'loopback')
      })
      assert.equal(await readFile(target, 'utf8'), 'public content')
      assert.equal(result.finalUrl, `http://rebind.test:${checked.port}/song.mp3`)
      assert.deepEqual(calls, ['rebind.test'])
      assert.deepEqual(checked.requests, ['/song.mp3'])
      assert.deepEqual(rebound.requests, [])
    } finally {
      await Promise.all([checked.close(), rebound.close()])
    }
  })
})

describe('fetchToFile redirects', () => {
  let server: TestServer
  before(async () => {
    server = await serve('127.0.0.1', (req, res) => {
      const hop = /^\/hop\/(\d+)\/(\d+)$/.exec(req.url ?? '')
      if (hop) {
        const [left, total] = [Number(hop[1]), hop[2]]
        // Relative Location, resolved against the current URL.
        res.writeHead(left === 0 ? 200 : 302, left === 0 ? {} : { location: `../${left - 1}/${total}` })
        res.end(left === 0 ? `done after ${total}` : '')
        return
      }
      if (req.url === '/to-ftp') return res.writeHead(301, { location: 'ftp://example.com/a.mp3' }).end()
      res.writeHead(404).end()
    })
  })
  after(() => server.close())

  it('follows up to three redirects', async () => {
    const target = dest()
    const result = await fetchToFile(`${server.origin}/hop/3/3`, target, { ...base, allowPrivate: true })
    assert.equal(await readFile(target, 'utf8'), 'done after 3')
    assert.equal(result.finalUrl, `${server.origin}/hop/0/3`)
  })

  it('refuses a fourth redirect', async () => {
    const target = dest()
    await assert.rejects(fetchToFile(`${server.origin}/hop/4/4`, target, { ...base, allowPrivate: true }), rejectsWith('redirects', /more than 3 times/))
    assert.equal(existsSync(target), false)
  })

  it('re-checks the scheme of a redirect target', async () => {
    await assert.rejects(fetchToFile(`${server.origin}/to-ftp`, dest(), { ...base, allowPrivate: true }), rejectsWith('scheme', /Redirect from 127\.0\.0\.1 refused/))
  })

  it('names the status of a non-2xx answer', async () => {
    const target = dest()
    await assert.rejects(fetchToFile(`${server.origin}/missing`, target, { ...base, allowPrivate: true }), rejectsWith('http_status', /HTTP status 404/))
    assert.equal(existsSync(target), false)
  })
})

describe('fetchToFile limits', () => {
  it('fails a server that stalls mid-body with a timeout and removes the partial file', async () => {
    const server = await serve('127.0.0.1', (_req, res) => {
      res.writeHead(200, { 'content-type': 'audio/mpeg' })
      res.write('ID3 partial bytes')
    })
    try {
      const target = dest()
      const started = Date.now()
      await assert.rejects(fetchToFile(`${server.origin}/slow.mp3`, target, { ...base, allowPrivate: true, totalTimeoutMs: 1_000 }), rejectsWith('timeout', /within 1 s/))
      const elapsed = Date.now() - started
      assert.ok(elapsed >= 900 && elapsed < 10_000, `took ${elapsed} ms`)
      assert.equal(existsSync(target), false)
    } finally {
      await server.close()
    }
  })

  it('fails a server that never answers with a timeout', async () => {
    const server = await serve('127.0.0.1', () => {})
    try {
      await assert.rejects(fetchToFile(`${server.origin}/`, dest(), { ...base, allowPrivate: true, totalTimeoutMs: 500 }), rejectsWith('timeout'))
    } finally {
      await server.close()
    }
  })

  it('stops a chunked body at maxBytes and removes the file', async () => {
    const server = await serve('127.0.0.1', (_req, res) => {
      res.writeHead(200)
      const chunk = Buffer.alloc(16 * 1024, 1)
      let sent = 0
      const push = () => {
        // Far beyond the cap, so passing means reading stopped.
        if (sent++ > 1000 || res.destroyed) return res.end()
        res.write(chunk, push)
      }
      push()
    })
    try {
      const target = dest()
      await assert.rejects(fetchToFile(`${server.origin}/big`, target, { ...base, allowPrivate: true, maxBytes: 100_000 }), rejectsWith('too_large', /100000 byte limit/))
      assert.equal(existsSync(target), false)
    } finally {
      await server.close()
    }
  })

  it('refuses a declared Content-Length above maxBytes without reading the body', async () => {
    const server = await serve('127.0.0.1', (_req, res) => {
      // Declares 10 MB and then stalls: only an early refusal avoids the timeout.
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) })
      res.write('x')
    })
    try {
      const target = dest()
      await assert.rejects(fetchToFile(`${server.origin}/big`, target, { ...base, allowPrivate: true, maxBytes: 1024, totalTimeoutMs: 10_000 }), rejectsWith('too_large'))
      assert.equal(existsSync(target), false)
    } finally {
      await server.close()
    }
  })

  it('accepts a body of exactly maxBytes', async () => {
    const server = await serve('127.0.0.1', (_req, res) => res.end(Buffer.alloc(1024, 7)))
    try {
      const result = await fetchToFile(`${server.origin}/exact`, dest(), { ...base, allowPrivate: true, maxBytes: 1024 })
      assert.equal(result.bytes, 1024)
    } finally {
      await server.close()
    }
  })
})

describe('fetchToFile happy path and files', () => {
  it('stores exactly the bytes sent, privately, with the server-suggested name', async () => {
    const payload = randomBytes(300 * 1024)
    const server = await serve('127.0.0.1', (_req, res) => {
      res.writeHead(200, {
        'content-type': 'audio/flac',
        'content-disposition': `attachment; filename="fallback.flac"; filename*=UTF-8''%C3%A9t%C3%A9%20take%201.flac`
      })
      res.end(payload)
    })
    try {
      const target = dest()
      const result = await fetchToFile(`${server.origin}/download?id=7`, target, { ...base, allowPrivate: true })
      const stored = await readFile(target)
      const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex')
      assert.equal(sha(stored), sha(payload))
      assert.deepEqual(result, {
        bytes: payload.length,
        finalUrl: `${server.origin}/download?id=7`,
        contentType: 'audio/flac',
        suggestedName: 'été take 1.flac'
      })
      assert.equal((await stat(target)).mode & 0o777, 0o600)
    } finally {
      await server.close()
    }
  })

  it('never overwrites or removes a file already at destPath', async () => {
    const server = await serve('127.0.0.1', (_req, res) => res.end('new'))
    try {
      const target = dest()
      await writeFile(target, 'existing')
      await assert.rejects(fetchToFile(`${server.origin}/a`, target, { ...base, allowPrivate: true }), { code: 'EEXIST' })
      assert.equal(await readFile(target, 'utf8'), 'existing')
    } finally {
      await server.close()
    }
  })

  it('passes on the caller\'s abort reason and removes the partial file', async () => {
    const server = await serve('127.0.0.1', (_req, res) => {
      res.writeHead(200)
      res.write('partial')
    })
    try {
      const target = dest()
      const controller = new AbortController()
      const reason = new Error('client went away')
      setTimeout(() => controller.abort(reason), 200)
      await assert.rejects(fetchToFile(`${server.origin}/a`, target, { ...base, allowPrivate: true, signal: controller.signal }), (error) => error === reason)
      assert.equal(existsSync(target), false)
    } finally {
      await server.close()
    }
  })

})

describe('fetchToFile ports and connect failures', () => {
  it('refuses a port other than 443 (and 80 with http) before connecting', async () => {
    const server = await serve('127.0.0.1', (_req, res) => res.end('x'))
    try {
      const standard = { ...base, allowedPorts: undefined, allowPrivate: true }
      await assert.rejects(fetchToFile(`${server.origin}/`, dest(), standard), rejectsWith('port', new RegExp(`^Port ${server.port} is not allowed for imports \\(allowed: 443, 80;`)))
      await assert.rejects(fetchToFile(`https://127.0.0.1:${server.port}/`, dest(), { ...standard, allowHttp: false }), rejectsWith('port', /\(allowed: 443;/))
      await assert.rejects(fetchToFile('https://203.0.113.1:22/', dest(), { ...base, allowedPorts: [443, 8443] }), rejectsWith('port', /^Port 22 is not allowed for imports \(allowed: 443, 8443;/))
      assert.deepEqual(server.requests, [])
    } finally {
      await server.close()
    }
  })

  it('re-checks the port of every redirect target', async () => {
    const inner = await serve('127.0.0.1', (_req, res) => res.end('internal'))
    const outer = await serve('127.0.0.1', (_req, res) => res.writeHead(302, { location: `${inner.origin}/admin` }).end())
    try {
      await assert.rejects(fetchToFile(`${outer.origin}/start`, dest(), { ...base, allowPrivate: true, allowedPorts: [outer.port] }), rejectsWith('port', /^Redirect from 127\.0\.0\.1 refused: Port \d+ is not allowed/))
      assert.deepEqual(inner.requests, [])
    } finally {
      await Promise.all([inner.close(), outer.close()])
    }
  })

  it('gives one answer, after the connect timeout, to a refused connection, a dead address, a bad name and a TLS failure', async () => {
    const closed = await serve('127.0.0.1', () => {})
    await closed.close()
    const plain = await serve('127.0.0.1', (_req, res) => res.end('not TLS'))
    const failedLookup = ((_hostname: string, _options: unknown, callback: (error: Error) => void) => {
      process.nextTick(() => callback(Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.test'), { code: 'ENOTFOUND' })))
    }) as unknown as typeof dns.lookup
    const connectTimeoutMs = 400
    const options = { ...base, allowPrivate: true, connectTimeoutMs }
    try {
      for (const [label, url, extra] of [
        ['refused', `http://127.0.0.1:${closed.port}/`, {}],
        // TEST-NET-1 is never routed: the SYN goes unanswered and the connect times out.
        ['timed out', 'http://192.0.2.1/', {}],
        ['no such name', 'http://nowhere.test/', { lookup: failedLookup }],
        ['TLS to a plain-HTTP port', `https://127.0.0.1:${plain.port}/`, {}]
      ] as const) {
        const started = performance.now()
        await assert.rejects(fetchToFile(url, dest(), { ...options, ...extra }), (error: unknown) => {
          rejectsWith('unreachable', /^Could not connect to (127\.0\.0\.1|192\.0\.2\.1|nowhere\.test)$/)(error)
          assert.ok((error as ImportError).cause !== undefined, `${label}: the cause is kept for the log`)
          return true
        }, label)
        const took = performance.now() - started
        assert.ok(took >= connectTimeoutMs - 5 && took < connectTimeoutMs + 1_500, `${label} answered after ${Math.round(took)} ms`)
      }
    } finally {
      await plain.close()
    }
  })
})

describe('suggestedName', () => {
  const url = (href: string) => new URL(href)

  it('prefers Content-Disposition, keeping only the last path component', () => {
    assert.equal(suggestedName('attachment; filename="../../etc/passwd"', url('https://h/x.mp3')), 'passwd')
    assert.equal(suggestedName('attachment; filename="C:\\\\music\\\\song.wav"', url('https://h/x.mp3')), 'song.wav')
  })

  it('falls back to the decoded last URL segment', () => {
    assert.equal(suggestedName(undefined, url('https://h/music/My%20Song.mp3?x=1')), 'My Song.mp3')
    assert.equal(suggestedName('attachment; filename=', url('https://h/a/b.ogg')), 'b.ogg')
    assert.equal(suggestedName('inline', url('https://h/a/%E0%A4%A.ogg')), '%E0%A4%A.ogg')
  })

  it('drops control characters and gives up on empty names', () => {
    assert.equal(suggestedName(undefined, url('https://h/a%0D%0Ab.mp3')), 'ab.mp3')
    assert.equal(suggestedName(undefined, url('https://h/')), undefined)
    assert.equal(suggestedName(undefined, url('https://h/dir/%2E%2E')), undefined)
  })
})
