import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { startApp, type TestApp } from './helpers/app.ts'
import { fixture } from './helpers/audio.ts'
import { createJob, keyHeaders, uploadFile } from './helpers/jobs.ts'

// How the app serves the built web UI (a stand-in web/dist, so no build is needed here), the
// job-type catalogue its forms are built from, and the file-name search of its file list.

const HTML = 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8'
const PLACEHOLDER = '__TYMPAN_CSP_NONCE__'

function fakeDist (): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-web-dist-'))
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
  fs.mkdirSync(path.join(dir, 'assets'))
  fs.writeFileSync(path.join(dir, 'index.html'), `<!doctype html><html><head><meta property="csp-nonce" nonce="${PLACEHOLDER}"><script type="module" src="/assets/index-abc123.js" nonce="${PLACEHOLDER}"></script></head><body><div id="root"></div></body></html>`)
  fs.writeFileSync(path.join(dir, 'assets/index-abc123.js'), 'console.log("app")\n')
  fs.writeFileSync(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>')
  return dir
}

describe('the web UI as served by the app', () => {
  let t: TestApp
  let key: string

  before(async () => {
    t = await startApp('pglite', {}, undefined, { webDir: fakeDist() })
    key = await t.apiKey(await t.login((await t.createUser()).email), ['files:read', 'files:write', 'jobs:read'])
  })
  after(() => t.close())

  it('serves the page at / with a fresh style nonce in its CSP and its markup, never cached', async () => {
    const nonces = []
    for (let i = 0; i < 2; i++) {
      const res = await t.app.inject({ method: 'GET', url: '/', headers: { accept: HTML } })
      assert.equal(res.statusCode, 200)
      assert.match(String(res.headers['content-type']), /^text\/html/)
      assert.equal(res.headers['cache-control'], 'no-cache')
      const csp = String(res.headers['content-security-policy'])
      const nonce = /style-src 'self' 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1]
      assert.ok(nonce, csp)
      assert.match(csp, /script-src 'self';/, 'scripts stay same-origin only')
      assert.ok(!res.body.includes(PLACEHOLDER))
      assert.ok(res.body.includes(`<meta property="csp-nonce" nonce="${nonce}">`))
      nonces.push(nonce)
    }
    assert.notEqual(nonces[0], nonces[1])
  })

  it('serves hashed assets for a year, other files revalidated, all without credentials', async () => {
    const asset = await t.app.inject({ method: 'GET', url: '/assets/index-abc123.js' })
    assert.equal(asset.statusCode, 200)
    assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable')
    assert.match(String(asset.headers['content-type']), /javascript/)
    assert.match(String(asset.headers['content-security-policy']), /default-src 'self'/)
    const icon = await t.app.inject({ method: 'GET', url: '/favicon.svg' })
    assert.equal(icon.statusCode, 200)
    assert.equal(icon.headers['cache-control'], 'no-cache')
    // The page only ever goes out with its nonce.
    assert.equal((await t.app.inject({ method: 'GET', url: '/index.html' })).statusCode, 404)
  })

  it('answers a navigation to a client route with the page, and everything else as before', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/jobs/0b6c1f3e-1111-4000-8000-000000000000?x=1', headers: { accept: HTML } })
    assert.equal(page.statusCode, 200)
    assert.match(page.body, /<div id="root">/)
    for (const [url, accept] of [['/jobs/x', 'application/json'], ['/api/v1/nothing', HTML], ['/v1/nothing', HTML], ['/assets/gone-123.js', HTML], ['/docs/nothing', HTML]] as const) {
      const res = await t.app.inject({ method: 'GET', url, headers: { accept } })
      assert.equal(res.statusCode, 404, url)
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/, url)
    }
    const post = await t.app.inject({ method: 'POST', url: '/files', headers: { accept: HTML }, payload: {} })
    assert.equal(post.statusCode, 404)
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { accept: HTML } })).statusCode, 401, 'the API still demands credentials')
  })

  it('builds the Swagger UI page without the top bar whose inline style the CSP blocks', async () => {
    const init = await t.app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' })
    assert.equal(init.statusCode, 200)
    assert.match(init.body, /"layout":\s*"BaseLayout"/)
  })

  it('lists the job types with their params schema, for signed-in callers only', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/job-types', headers: keyHeaders(key) })
    assert.equal(res.statusCode, 200)
    const { items } = res.json() as { items: Array<{ name: string, input: string, summary: string, params: { type: string, properties: Record<string, { type?: string, anyOf?: unknown[] }> } }> }
    const transcribe = items.find((i) => i.name === 'transcribe')
    assert.ok(transcribe)
    assert.equal(transcribe.input, 'file')
    assert.ok(transcribe.summary.length > 0)
    assert.equal(transcribe.params.type, 'object')
    assert.equal(transcribe.params.properties.wordTimestamps?.type, 'boolean')
    assert.equal(transcribe.params.properties.engine?.anyOf?.length, 2)
    assert.ok(items.some((i) => i.name === 'analyze'))
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/job-types' })).statusCode, 401)
  })

  it('searches files by a part of their name, any case, with no wildcards', async () => {
    await uploadFile(t.app, key, fixture('wav'), 'Interview_Monday.wav')
    await uploadFile(t.app, key, fixture('wav'), 'song 100%.wav')
    const names = async (q: string) => {
      const res = await t.app.inject({ method: 'GET', url: `/api/v1/files?q=${encodeURIComponent(q)}`, headers: keyHeaders(key) })
      assert.equal(res.statusCode, 200, res.body)
      return (res.json() as { items: Array<{ name: string }> }).items.map((f) => f.name)
    }
    assert.deepEqual(await names('interview'), ['Interview_Monday.wav'])
    assert.deepEqual(await names('100%'), ['song 100%.wav'])
    assert.deepEqual(await names('_'), ['Interview_Monday.wav'])
    assert.deepEqual(await names('%'), ['song 100%.wav'])
    const tooLong = await t.app.inject({ method: 'GET', url: `/api/v1/files?q=${'a'.repeat(101)}`, headers: keyHeaders(key) })
    assert.equal(tooLong.statusCode, 422)
  })
})

describe('the queue overview of the admin pages', () => {
  let t: TestApp
  before(async () => { t = await startApp('pglite', { WORKER_CONCURRENCY: '0' }) })
  after(() => t.close())

  it('counts every owner\'s jobs by type and status for an admin, and refuses a member', async () => {
    const member = await t.apiKey(await t.login((await t.createUser('member')).email), ['files:read', 'files:write', 'jobs:read', 'jobs:write'])
    const admin = await t.apiKey(await t.login((await t.createUser('admin')).email), ['admin', 'jobs:read'])
    const job = await createJob(t.app, member, { type: 'analyze', fileId: await uploadFile(t.app, member, fixture('wav')) })
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/admin/jobs/overview', headers: keyHeaders(admin) })
    assert.equal(res.statusCode, 200, res.body)
    assert.deepEqual(res.json(), { types: [{ type: 'analyze', counts: { queued: 1, running: 0, succeeded: 0, failed: 0, canceled: 0 }, oldestQueuedAt: job.createdAt }] })
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/admin/jobs/overview', headers: keyHeaders(member) })).statusCode, 403)
  })
})

describe('the jobs of one file (the file page lists them)', () => {
  let t: TestApp
  before(async () => { t = await startApp('pglite', { WORKER_CONCURRENCY: '0' }) })
  after(() => t.close())

  it('filters the jobs list by input file, within the caller\'s own jobs only', async () => {
    const scopes = ['files:read', 'files:write', 'jobs:read', 'jobs:write']
    const mine = await t.apiKey(await t.login((await t.createUser('member')).email), scopes)
    const theirs = await t.apiKey(await t.login((await t.createUser('member')).email), scopes)
    const a = await uploadFile(t.app, mine, fixture('wav'))
    const b = await uploadFile(t.app, mine, fixture('wav'))
    const onA = await createJob(t.app, mine, { type: 'analyze', fileId: a })
    await createJob(t.app, mine, { type: 'analyze', fileId: b })
    const ids = async (key: string, fileId: string) => {
      const res = await t.app.inject({ method: 'GET', url: `/api/v1/jobs?fileId=${encodeURIComponent(fileId)}`, headers: keyHeaders(key) })
      assert.equal(res.statusCode, 200, res.body)
      return (res.json() as { items: Array<{ id: string }> }).items.map((j) => j.id)
    }
    assert.deepEqual(await ids(mine, a), [onA.id])
    // Another owner asking about this file learns nothing, not even that it exists.
    assert.deepEqual(await ids(theirs, a), [])
    for (const bad of ['not-a-uuid', `${a}' OR '1'='1`, '']) {
      const res = await t.app.inject({ method: 'GET', url: `/api/v1/jobs?fileId=${encodeURIComponent(bad)}`, headers: keyHeaders(mine) })
      assert.equal(res.statusCode, 422, `${bad}: ${res.body}`)
    }
  })
})

describe('the app without a built web UI', () => {
  let t: TestApp
  before(async () => { t = await startApp('pglite', {}, undefined, { webDir: false }) })
  after(() => t.close())

  it('serves the API alone: / and client routes are 404 problems', async () => {
    for (const url of ['/', '/files']) {
      const res = await t.app.inject({ method: 'GET', url, headers: { accept: HTML } })
      assert.equal(res.statusCode, 404, url)
    }
  })
})
