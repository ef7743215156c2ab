import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { configProblems } from '../src/config/config.ts'
import { backends } from './helpers/db.ts'
import { startApp, testConfig, type Session, type TestApp } from './helpers/app.ts'
import { readFixture, sha256Of } from './helpers/audio.ts'

interface Origin {
  url: string
  hits: string[]
  close: () => Promise<void>
}

/** A local "remote" server: records what it was asked for, answers per path. */
async function origin (routes: Record<string, (res: http.ServerResponse) => void>): Promise<Origin> {
  const hits: string[] = []
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '')
    const route = routes[(req.url ?? '').split('?')[0] ?? '']
    if (route) route(res)
    else res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()) })
  }
}

const leftovers = (t: TestApp) => ['imports', 'staging', 'objects'].flatMap((dir) => {
  const full = path.join(t.config.dataDir, 'files', dir)
  return fs.existsSync(full) ? fs.readdirSync(full, { recursive: true }).map(String) : []
})

for (const backend of await backends()) {
  describe(`URL import: the SSRF guard (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    let s: Session
    let remote: Origin
    before(async () => {
      remote = await origin({ '/tone.mp3': (res) => res.writeHead(200, { 'content-type': 'audio/mpeg' }).end(readFixture('mp3')) })
      // Plain http and the local server's port allowed so that the address checks, not the
      // scheme or port checks, are what refuse.
      t = await startApp(backend.name, { IMPORT_ALLOW_HTTP: 'true', IMPORT_ALLOWED_PORTS: `443,80,${new URL(remote.url).port}` })
      s = await t.login((await t.createUser('member')).email)
    })
    after(async () => {
      await remote?.close()
      await t?.close()
    })

    const importUrl = (url: string) => t.app.inject({
      method: 'POST', url: '/api/v1/files/import', headers: { cookie: s.cookie, 'x-csrf-token': s.csrfToken }, payload: { url }
    })

    for (const [label, target] of [
      ['loopback', () => `${remote.url}/tone.mp3`],
      ['IPv6 loopback', () => 'http://[::1]/tone.mp3'],
      ['cloud metadata', () => 'http://169.254.169.254/latest/meta-data/'],
      ['hex-encoded loopback', () => `http://0x7f000001:${new URL(remote.url).port}/tone.mp3`],
      ['a name that resolves to loopback', () => `http://localhost:${new URL(remote.url).port}/tone.mp3`],
      ['RFC 1918', () => 'http://10.0.0.1/x.mp3'],
      ['IPv4-mapped IPv6', () => 'http://[::ffff:127.0.0.1]/x.mp3']
    ] as const) {
      it(`refuses ${label} without connecting`, async () => {
        const res = await importUrl(target())
        assert.equal(res.statusCode, 422, res.body)
        assert.equal(res.json().reason, 'address')
        assert.match(res.headers['content-type'] as string, /problem\+json/)
      })
    }

    it('never reached the local server, and left nothing on disk', async () => {
      assert.deepEqual(remote.hits, [])
      assert.deepEqual(leftovers(t), [])
      const rows = await t.testDb.db.kysely.selectFrom('files').select('id').execute()
      assert.equal(rows.length, 0)
    })

    it('refuses URLs that are not http(s), carry credentials, or point at media pages', async () => {
      assert.equal((await importUrl('ftp://example.org/a.mp3')).json().reason, 'scheme')
      assert.equal((await importUrl('file:///etc/passwd')).json().reason, 'scheme')
      assert.equal((await importUrl('https://user:pass@example.org/a.mp3')).statusCode, 422)
      const media = await importUrl('https://www.youtube.com/watch?v=abc')
      assert.equal(media.statusCode, 422)
      assert.equal(media.json().reason, 'media_disabled')
      assert.match(media.json().detail, /IMPORT_MEDIA_HOSTS/)
    })

    it('refuses a non-standard port before connecting', async () => {
      const res = await importUrl('http://example.org:6379/a.mp3')
      assert.equal(res.statusCode, 422)
      assert.equal(res.json().reason, 'port')
      assert.match(res.json().detail, /^Port 6379 is not allowed for imports/)
    })

    it('refuses plain http unless the operator allows it', async () => {
      const strict = await startApp(backend.name)
      try {
        const session = await strict.login((await strict.createUser('member')).email)
        const res = await strict.app.inject({
          method: 'POST', url: '/api/v1/files/import', headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken }, payload: { url: 'http://example.org/a.mp3' }
        })
        assert.equal(res.statusCode, 422)
        assert.equal(res.json().reason, 'scheme')
      } finally {
        await strict.close()
      }
    })

    it('IMPORT_ALLOW_PRIVATE is refused in production', () => {
      const problems = configProblems(testConfig({ TYMPAN_ENV: 'production', IMPORT_ALLOW_PRIVATE: 'true' }))
      assert.ok(problems.some((p) => p.includes('IMPORT_ALLOW_PRIVATE')), problems.join('; '))
    })
  })

  describe(`URL import: downloads (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    let s: Session
    let remote: Origin
    const mp3 = readFixture('mp3')
    before(async () => {
      remote = await origin({
        '/tone.mp3': (res) => res.writeHead(200, { 'content-type': 'audio/mpeg' }).end(mp3),
        '/stream': (res) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFixture('flac')),
        '/page.mp3': (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>not audio</html>'),
        '/big.wav': (res) => { res.writeHead(200); res.end(Buffer.alloc(2 * 1024 * 1024)) },
        '/stall.mp3': (res) => { res.writeHead(200, { 'content-type': 'audio/mpeg' }); res.write(mp3.subarray(0, 1000)) },
        '/gone': (res) => res.writeHead(404).end()
      })
      // Private addresses and the port allowed: the "remote" server of these tests is on loopback.
      t = await startApp(backend.name, { IMPORT_ALLOW_HTTP: 'true', IMPORT_ALLOW_PRIVATE: 'true', IMPORT_ALLOWED_PORTS: new URL(remote.url).port, IMPORT_TIMEOUT_SECONDS: '2', MAX_FILE_SIZE_MB: '1' })
      s = await t.login((await t.createUser('member', { tier: 'premium' })).email)
    })
    after(async () => {
      await remote?.close()
      await t?.close()
    })

    const importUrl = (url: string) => t.app.inject({
      method: 'POST', url: '/api/v1/files/import', headers: { cookie: s.cookie, 'x-csrf-token': s.csrfToken }, payload: { url }
    })

    it('imports an audio file and records where it came from', async () => {
      const res = await importUrl(`${remote.url}/tone.mp3`)
      assert.equal(res.statusCode, 201, res.body)
      const file = res.json()
      assert.equal(file.format, 'mp3')
      assert.equal(file.sha256, sha256Of(mp3))
      assert.equal(file.source, 'import')
      const row = await t.testDb.db.kysely.selectFrom('files').select('source_url').where('id', '=', file.id).executeTakeFirstOrThrow()
      assert.equal(row.source_url, `${remote.url}/tone.mp3`)
    })

    it('names a file without an extension after its real format', async () => {
      const res = await importUrl(`${remote.url}/stream?id=1`)
      assert.equal(res.statusCode, 201, res.body)
      assert.equal(res.json().format, 'flac')
      assert.equal(res.json().name, 'stream.flac')
    })

    it('runs the upload checks on what it fetched', async () => {
      const res = await importUrl(`${remote.url}/page.mp3`)
      assert.equal(res.statusCode, 415, res.body)
    })

    it('caps the size while streaming', async () => {
      const res = await importUrl(`${remote.url}/big.wav`)
      assert.equal(res.statusCode, 413, res.body)
    })

    it('gives up on a server that never finishes sending', async () => {
      const started = Date.now()
      const res = await importUrl(`${remote.url}/stall.mp3`)
      assert.equal(res.statusCode, 422, res.body)
      assert.equal(res.json().reason, 'timeout')
      assert.ok(Date.now() - started < 10_000)
    })

    it('reports a remote error status', async () => {
      const res = await importUrl(`${remote.url}/gone`)
      assert.equal(res.statusCode, 422)
      assert.equal(res.json().reason, 'http_status')
    })

    it('leaves nothing behind from the refused imports', async () => {
      const rows = await t.testDb.db.kysely.selectFrom('files').select('id').execute()
      assert.equal(rows.length, 2)
      const left = leftovers(t).filter((p) => !rows.some((r) => p.endsWith(r.id)) && !/^[0-9a-f]{2}$/.test(p))
      assert.deepEqual(left, [])
    })

    it('needs files:write', async () => {
      const viewer = await t.login((await t.createUser('viewer')).email)
      const res = await t.app.inject({
        method: 'POST', url: '/api/v1/files/import', headers: { cookie: viewer.cookie, 'x-csrf-token': viewer.csrfToken }, payload: { url: `${remote.url}/tone.mp3` }
      })
      assert.equal(res.statusCode, 403)
    })
  })
}
