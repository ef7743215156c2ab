import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import https from 'node:https'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { originAllowed } from '../src/guard/cors-policy.ts'
import { methodMatcher } from '../src/http/route-methods.ts'
import { productionChecklist } from '../src/config/production-checklist.ts'
import { configProblems } from '../src/config/config.ts'
import { startApp, testConfig, testSecret, type TestApp } from './helpers/app.ts'

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'x-xss-protection': '0'
}

function assertSecurityHeaders (headers: Record<string, unknown>, what: string) {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(headers[name], value, `${what}: ${name}`)
  const csp = String(headers['content-security-policy'])
  for (const directive of ["default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "script-src 'self'"]) {
    assert.ok(csp.includes(directive), `${what}: CSP lacks ${directive}: ${csp}`)
  }
  assert.ok(!csp.includes('unsafe-inline'), `${what}: CSP allows inline code`)
  assert.match(String(headers['permissions-policy']), /camera=\(\)/, `${what}: Permissions-Policy`)
  assert.equal(headers['x-powered-by'], undefined)
  assert.equal(headers.server, undefined)
}

describe('CORS origin policy (pure)', () => {
  const list = ['https://app.example.com', 'https://*.example.org']
  it('matches exact origins and real subdomains only', () => {
    assert.ok(originAllowed('https://app.example.com', list))
    assert.ok(originAllowed('https://a.example.org', list))
    assert.ok(originAllowed('https://a.b.example.org', list))
    for (const bad of ['https://evil.test', 'https://app.example.com.evil.test', 'https://example.org', 'https://evilexample.org',
      'https://a.example.org.evil.test', 'http://a.example.org', 'null', 'https://app.example.com/', 'https://a.example.org:8443', undefined]) {
      assert.ok(!originAllowed(bad, list), String(bad))
    }
  })
})

describe('405 and Allow (pure)', () => {
  it('lists the methods of the routes matching a path', () => {
    const methodsFor = methodMatcher([{ method: 'GET', url: '/api/v1/files/:id' }, { method: 'DELETE', url: '/api/v1/files/:id' }, { method: 'GET', url: '/docs/*' }])
    assert.deepEqual(methodsFor('/api/v1/files/abc'), ['DELETE', 'GET'])
    assert.deepEqual(methodsFor('/docs/static/x.js'), ['GET'])
    assert.deepEqual(methodsFor('/api/v1/nothing'), [])
  })
})

describe('production checklist', () => {
  it('fails each setting production refuses, and passes a good configuration', () => {
    for (const [env, name] of [[{ IMPORT_ALLOW_PRIVATE: 'true' }, 'IMPORT_ALLOW_PRIVATE'], [{ RATE_LIMIT_ENABLED: 'false' }, 'RATE_LIMIT_ENABLED'],
      [{ CORS_ORIGINS: '*' }, 'CORS_ORIGINS'], [{ LOG_LEVEL: 'trace' }, 'LOG_LEVEL'], [{ AUTH_ENABLED: 'false' }, 'AUTH_ENABLED']] as const) {
      const config = testConfig({ TYMPAN_ENV: 'production', ...env })
      assert.ok(configProblems(config).some((p) => p.includes(name)), name)
      assert.ok(productionChecklist(config, { uid: 1000 }).some((i) => i.status === 'fail'), name)
    }
    const good = productionChecklist(testConfig({ TYMPAN_ENV: 'production', METRICS_TOKEN: testSecret(), FORCE_HTTPS: 'true', TRUSTED_PROXIES: '127.0.0.1' }), { uid: 1000, dataDirMode: 0o40700 })
    assert.deepEqual(good.filter((i) => i.status === 'fail'), [])
  })

  it('warns while stored audio is not encrypted at rest, and names what encrypts it once it is', () => {
    const item = (env: Record<string, string>) => productionChecklist(testConfig({ TYMPAN_ENV: 'production', ...env }), { uid: 1000 }).find((i) => i.item === 'Stored audio encrypted at rest')!
    assert.equal(item({}).status, 'warn')
    assert.match(item({}).detail, /STORAGE_ENCRYPTION_KEY/)
    const key = randomBytes(32).toString('base64')
    const on = item({ STORAGE_ENCRYPTION_KEY: key })
    assert.equal(on.status, 'pass')
    assert.match(on.detail, /^STORAGE_ENCRYPTION_KEY \(key [0-9a-f]{16}\)/)
    assert.ok(!on.detail.includes(key), 'the key itself is never shown')
    const sse = item({ STORAGE_URL: 's3://tympan-audio/prod', S3_SSE: 'aws:kms' })
    assert.deepEqual([sse.status, sse.detail], ['pass', 'S3 server-side (aws:kms)'])
  })

  it('fails a guessable secret, plain HTTP and IMPORT_ALLOW_HTTP, each by name', () => {
    const config = testConfig({ TYMPAN_ENV: 'production', JWT_SECRET_KEY: 'j'.repeat(64), METRICS_TOKEN: 'change-me-change-me-change-me-change-me', INTERNAL_API_KEYS: `${testSecret()},${'0123456789'.repeat(4)}`, IMPORT_ALLOW_HTTP: 'true' })
    const failed = productionChecklist(config, { uid: 1000 }).filter((i) => i.status === 'fail').map((i) => `${i.item}: ${i.detail}`)
    assert.deepEqual(failed, [
      'JWT_SECRET_KEY strong (>= 32 bytes, >= 128 bits estimated): is guessable (about 9 bits estimated, at least 128 needed: no repeats, sequences or words): generate one with `openssl rand -base64 48`',
      'TLS_CERT_FILE or FORCE_HTTPS behind TRUSTED_PROXIES (HTTPS for all endpoints): TLS_CERT_FILE/TLS_KEY_FILE, or FORCE_HTTPS=true with TRUSTED_PROXIES, is required in production: plain HTTP would carry passwords, cookies and API keys in the clear',
      'IMPORT_ALLOW_HTTP off (URL import over HTTPS only): IMPORT_ALLOW_HTTP=true',
      'METRICS_TOKEN strong (>= 32 bytes, >= 128 bits estimated): is a placeholder, not a secret: generate one with `openssl rand -base64 48`',
      'INTERNAL_API_KEYS strong (>= 32 bytes, >= 128 bits estimated): key 2 is guessable (about 7 bits estimated, at least 128 needed: no repeats, sequences or words): generate one with `openssl rand -base64 48`'
    ])
  })

  it('tympan doctor --production prints the checklist and fails on a missing secret', () => {
    const run = (env: Record<string, string>) => {
      try {
        return { code: 0, out: execFileSync(path.resolve('bin/tympan'), ['doctor', '--production'], { env: { ...process.env, ...env }, encoding: 'utf8' }) }
      } catch (error) {
        const e = error as { status: number, stdout: string }
        return { code: e.status, out: e.stdout }
      }
    }
    const bad = run({ TYMPAN_ENV: 'production', JWT_SECRET_KEY: '', CSRF_SECRET_KEY: '', SESSION_SECRET_KEY: '' })
    assert.equal(bad.code, 1)
    assert.match(bad.out, /FAIL\s+JWT_SECRET_KEY/)
    assert.match(bad.out, /PASS\s+Authentication enabled/)
    const weak = run({ TYMPAN_ENV: 'production', JWT_SECRET_KEY: 'a'.repeat(64), CSRF_SECRET_KEY: testSecret(), SESSION_SECRET_KEY: testSecret(), IMPORT_ALLOW_HTTP: 'true', FORCE_HTTPS: '', TLS_CERT_FILE: '' })
    assert.equal(weak.code, 1)
    assert.match(weak.out, /FAIL\s+JWT_SECRET_KEY strong \(>= 32 bytes, >= 128 bits estimated\): is guessable/)
    assert.match(weak.out, /PASS\s+CSRF_SECRET_KEY strong/)
    assert.match(weak.out, /FAIL\s+TLS_CERT_FILE or FORCE_HTTPS behind TRUSTED_PROXIES/)
    assert.match(weak.out, /FAIL\s+IMPORT_ALLOW_HTTP off/)
  })
})

describe('security headers, methods, CORS', () => {
  let t: TestApp
  before(async () => { t = await startApp('pglite', { CORS_ORIGINS: 'https://app.example.com,https://*.example.org', TRUSTED_PROXIES: '10.0.0.1' }) })
  after(() => t?.close())

  it('sends the security headers on successes, errors and static files', async () => {
    assertSecurityHeaders((await t.app.inject('/healthz')).headers, '200')
    assertSecurityHeaders((await t.app.inject('/api/v1/me')).headers, '401')
    assertSecurityHeaders((await t.app.inject('/nope')).headers, '404')
    assertSecurityHeaders((await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: '{' , headers: { 'content-type': 'application/json' } })).headers, '400')
    const asset = await t.app.inject('/docs/static/index.css')
    assert.equal(asset.statusCode, 200)
    assertSecurityHeaders(asset.headers, 'static file')
  })

  it('sends HSTS only over HTTPS', async () => {
    assert.equal((await t.app.inject('/healthz')).headers['strict-transport-security'], undefined)
    const viaProxy = await t.app.inject({ url: '/healthz', remoteAddress: '10.0.0.1', headers: { 'x-forwarded-proto': 'https' } })
    assert.match(String(viaProxy.headers['strict-transport-security']), /max-age=31536000; includeSubDomains/)
    const spoofed = await t.app.inject({ url: '/healthz', remoteAddress: '203.0.113.9', headers: { 'x-forwarded-proto': 'https' } })
    assert.equal(spoofed.headers['strict-transport-security'], undefined, 'X-Forwarded-Proto from an untrusted peer is ignored')
  })

  it('answers TRACE and unused methods with 405 and Allow', async () => {
    const trace = await t.app.inject({ method: 'TRACE', url: '/healthz' })
    assert.equal(trace.statusCode, 405)
    const put = await t.app.inject({ method: 'PUT', url: '/api/v1/files' })
    assert.equal(put.statusCode, 405)
    assert.equal(put.headers.allow, 'GET, HEAD, POST')
    assert.equal((await t.app.inject({ method: 'PUT', url: '/nothing/here' })).statusCode, 404)
  })

  it('allows listed origins with credentials and nothing else', async () => {
    const ok = await t.app.inject({ url: '/healthz', headers: { origin: 'https://a.example.org' } })
    assert.equal(ok.headers['access-control-allow-origin'], 'https://a.example.org')
    assert.equal(ok.headers['access-control-allow-credentials'], 'true')
    for (const origin of ['https://evil.test', 'https://app.example.com.evil.test', 'null']) {
      const res = await t.app.inject({ url: '/healthz', headers: { origin } })
      assert.equal(res.headers['access-control-allow-origin'], undefined, origin)
    }
  })

  it('answers preflights with an explicit header list that excludes unknown headers', async () => {
    const res = await t.app.inject({
      method: 'OPTIONS', url: '/api/v1/files',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-csrf-token, x-evil' }
    })
    assert.equal(res.statusCode, 204)
    const allowed = String(res.headers['access-control-allow-headers']).toLowerCase().split(/,\s*/)
    assert.ok(allowed.includes('x-csrf-token'))
    assert.ok(!allowed.includes('x-evil'))
    assert.ok(!allowed.includes('*'))
    assertSecurityHeaders(res.headers, 'a preflight')
    const denied = await t.app.inject({ method: 'OPTIONS', url: '/api/v1/files', headers: { origin: 'https://evil.test', 'access-control-request-method': 'POST' } })
    assert.equal(denied.headers['access-control-allow-origin'], undefined)
  })
})

describe('FORCE_HTTPS', () => {
  let t: TestApp
  let bare: TestApp
  before(async () => {
    t = await startApp('pglite', { FORCE_HTTPS: 'true', TRUSTED_PROXIES: '10.0.0.1', PUBLIC_URL: 'https://audio.example.com' })
    bare = await startApp('pglite', { FORCE_HTTPS: 'true', TRUSTED_PROXIES: '10.0.0.1' })
  })
  after(async () => { await t?.close(); await bare?.close() })

  it('redirects browser navigation to PUBLIC_URL, never to the Host header', async () => {
    const page = await t.app.inject({ url: '/docs/?a=1', headers: { accept: 'text/html', host: 'evil.example' } })
    assert.equal(page.statusCode, 308)
    assert.equal(page.headers.location, 'https://audio.example.com/docs/?a=1')
  })

  it('without PUBLIC_URL, refuses navigation with the API\'s 403 instead of redirecting', async () => {
    for (const host of ['evil.example', 'audio.example.com']) {
      const page = await bare.app.inject({ url: '/docs/', headers: { accept: 'text/html', host } })
      assert.equal(page.statusCode, 403, host)
      assert.equal(page.headers.location, undefined, host)
      assert.match(page.json().detail, /HTTPS is required/)
    }
  })

  it('refuses plain-HTTP API calls', async () => {
    const api = await t.app.inject({ url: '/api/v1/me', headers: { 'x-api-key': 'tym_x' } })
    assert.equal(api.statusCode, 403)
    assert.match(api.json().detail, /HTTPS is required/)
    assertSecurityHeaders(api.headers, 'the plain-HTTP refusal')
  })

  it('believes X-Forwarded-Proto only from a trusted proxy', async () => {
    const spoofed = await t.app.inject({ url: '/api/v1/me', remoteAddress: '203.0.113.9', headers: { 'x-forwarded-proto': 'https' } })
    assert.equal(spoofed.statusCode, 403)
    const proxied = await t.app.inject({ url: '/api/v1/me', remoteAddress: '10.0.0.1', headers: { 'x-forwarded-proto': 'https' } })
    assert.equal(proxied.statusCode, 401, 'reached authentication')
  })

  it('keeps health probes on plain HTTP', async () => {
    assert.equal((await t.app.inject('/healthz')).statusCode, 200)
  })
})

describe('Cache-Control on authenticated answers', () => {
  let t: TestApp
  before(async () => { t = await startApp('pglite') })
  after(() => t?.close())

  it('is no-store on every answer to an identified caller, refusals included; public answers keep theirs', async () => {
    const member = await t.createUser('member')
    const key = await t.apiKey(await t.login(member.email), ['files:read'])
    const own = await t.app.inject({ url: '/api/v1/me', headers: { 'x-api-key': key } })
    assert.equal(own.statusCode, 200)
    assert.equal(own.headers['cache-control'], 'no-store')
    const refused = await t.app.inject({ url: '/api/v1/admin/users', headers: { 'x-api-key': key } })
    assert.equal(refused.statusCode, 403)
    assert.equal(refused.headers['cache-control'], 'no-store')
    const missing = await t.app.inject({ url: '/api/v1/files/00000000-0000-4000-8000-000000000000', headers: { 'x-api-key': key } })
    assert.equal(missing.statusCode, 404)
    assert.equal(missing.headers['cache-control'], 'no-store')
    const anonymous = await t.app.inject({ url: '/api/v1/me' })
    assert.equal(anonymous.statusCode, 401)
    assert.equal(anonymous.headers['cache-control'], undefined)
    assert.equal((await t.app.inject('/healthz')).headers['cache-control'], undefined)
  })
})

describe('load shedding', () => {
  let t: TestApp
  // A heap cap far below what any process uses: every request is shed, deterministically.
  before(async () => { t = await startApp('pglite', { PRESSURE_MAX_HEAP_MB: '1' }) })
  after(() => t?.close())

  it('answers 503 problem+json with Retry-After under pressure', async () => {
    // under-pressure samples on an interval; give it one.
    await new Promise((resolve) => setTimeout(resolve, 1200))
    const res = await t.app.inject('/api/v1/me')
    assert.equal(res.statusCode, 503)
    assert.equal(res.headers['retry-after'], '10')
    assert.match(String(res.headers['content-type']), /problem\+json/)
    assertSecurityHeaders(res.headers, 'a shed request')
    assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/)
  })
})

describe('slow clients and native TLS', () => {
  it('drops a client that sends its headers one byte a second', async () => {
    const t = await startApp('pglite', { HEADERS_TIMEOUT_MS: '2000', REQUEST_TIMEOUT_MS: '3000' })
    try {
      await t.app.listen({ port: 0, host: '127.0.0.1' })
      const { port } = t.app.server.address() as net.AddressInfo
      const started = Date.now()
      const closedAfter = await new Promise<number>((resolve) => {
        const socket = net.connect(port, '127.0.0.1')
        const request = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(100)
        let i = 0
        const timer = setInterval(() => { if (!socket.destroyed) socket.write(request[i++ % request.length]!) }, 1000)
        socket.on('close', () => { clearInterval(timer); resolve(Date.now() - started) })
        socket.on('error', () => {})
      })
      assert.ok(closedAfter < 8000, `connection held for ${closedAfter} ms`)
    } finally {
      await t.close()
    }
  })

  it('serves HTTPS natively with TLS_CERT_FILE/TLS_KEY_FILE, with HSTS', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-tls-'))
    const cert = path.join(dir, 'cert.pem')
    const key = path.join(dir, 'key.pem')
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' })
    const t = await startApp('pglite', { TLS_CERT_FILE: cert, TLS_KEY_FILE: key })
    try {
      await t.app.listen({ port: 0, host: '127.0.0.1' })
      const { port } = t.app.server.address() as net.AddressInfo
      const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        https.get({ host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false }, (res) => { res.resume(); resolve(res.headers) }).on('error', reject)
      })
      assert.match(String(headers['strict-transport-security']), /max-age=31536000/)
    } finally {
      await t.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
