import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.ts'
import type { Config } from '../src/config/config.ts'
import { openDatabase, type Db } from '../src/db/database.ts'
import { migrate } from '../src/db/migrator.ts'
import { PASSWORD, cookiesFrom, cookieHeader, testConfig, uniqueEmail } from './helpers/app.ts'
import { fixture } from './helpers/audio.ts'
import { backends } from './helpers/db.ts'
import { createJob, getJob, keyHeaders, uploadFile } from './helpers/jobs.ts'
import { startPostgres, type Service } from './helpers/services.ts'

// A private PostgreSQL cluster (the machine's shared one serves every other test) stopped
// and started under two API nodes, one of which runs jobs.

const postgres = (await backends()).find((b) => b.name === 'postgres')!

async function until (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

describe('PostgreSQL stopped and started under two API nodes', { skip: postgres.skip, timeout: 240_000 }, () => {
  let pg: Service
  let config: Config
  const dbs: Db[] = []
  const apps: FastifyInstance[] = []
  const nodeOn = async (workers: string) => {
    const db = await openDatabase({ databaseUrl: pg.url })
    dbs.push(db)
    const app = await buildApp({ config: { ...config, jobs: { ...config.jobs, workerConcurrency: Number(workers) } }, db })
    apps.push(app)
    await app.ready()
    return app
  }

  before(async () => {
    pg = await startPostgres()
    const db = await openDatabase({ databaseUrl: pg.url })
    await migrate(db)
    await db.close()
    config = testConfig({ DATABASE_URL: pg.url, LOG_LEVEL: process.env.TEST_LOG ?? 'silent' })
  })
  after(async () => {
    for (const app of apps) await app.close()
    for (const db of dbs) await db.close()
    await pg?.close()
  })

  it('answers 503 problems (not hangs) while it is down, recovers by itself, and loses no job', async () => {
    const a = await nodeOn('1')
    const b = await nodeOn('0')
    const user = await a.container.users.create({ email: uniqueEmail('outage'), password: PASSWORD, role: 'member', tier: 'free' })
    const login = await a.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: PASSWORD } })
    const session = { cookie: cookieHeader(cookiesFrom(login)), csrfToken: login.json().csrfToken as string }
    const created = await a.inject({ method: 'POST', url: '/api/v1/keys', headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken }, payload: { name: 'k', scopes: ['files:read', 'files:write', 'jobs:read', 'jobs:write'] } })
    const key = created.json().key as string
    const uncached = (await a.inject({ method: 'POST', url: '/api/v1/keys', headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken }, payload: { name: 'unused', scopes: ['files:read'] } })).json().key as string
    const fileId = await uploadFile(b, key, fixture('wav'))
    const before = await createJob(b, key, { fileId, type: 'analyze' })
    const opened = await a.inject({ method: 'POST', url: '/api/v1/uploads', headers: { ...keyHeaders(key), 'tus-resumable': '1.0.0', 'upload-length': '1000', 'upload-metadata': `filename ${Buffer.from('a.wav').toString('base64')}` } })
    assert.equal(opened.statusCode, 201, opened.body)
    const upload = new URL(String(opened.headers.location), 'http://x').pathname

    await pg.stop()
    for (const app of [a, b]) {
      const ready = await app.inject({ url: '/readyz' })
      assert.equal(ready.statusCode, 503, ready.body)
      assert.match(ready.json().detail, /database/)
      // The key is cached: the request gets as far as the database, and is answered 503.
      const jobs = await app.inject({ url: '/api/v1/jobs', headers: keyHeaders(key) })
      assert.equal(jobs.statusCode, 503, jobs.body)
      assert.match(String(jobs.headers['content-type']), /^application\/problem\+json/)
      assert.equal(jobs.json().title, 'Database unavailable')
      assert.equal(jobs.headers['retry-after'], '5')
      // A credential that must be looked up gets the same answer, not a 401 or a 500.
      const fresh = await app.inject({ url: '/api/v1/me', headers: keyHeaders(uncached) })
      assert.equal(fresh.statusCode, 503, fresh.body)
      const signIn = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: PASSWORD } })
      assert.equal(signIn.statusCode, 503, signIn.body)
      // tus answers its own errors: its ownership check of an open upload needs the database too.
      const resume = await app.inject({ method: 'HEAD', url: upload, headers: { ...keyHeaders(key), 'tus-resumable': '1.0.0' } })
      assert.equal(resume.statusCode, 503)
    }
    // Liveness is the process's, not the database's.
    assert.equal((await a.inject({ url: '/healthz' })).statusCode, 200)

    await pg.start()
    for (const app of [a, b]) await until('readiness to return', async () => (await app.inject({ url: '/readyz' })).statusCode === 200)
    await until('the job submitted before the outage to finish', async () => ['succeeded', 'failed'].includes((await getJob(b, key, before.id)).status))
    assert.equal((await getJob(b, key, before.id)).status, 'succeeded')

    // The worker on A survived the outage, and takes new work submitted through B.
    const afterwards = await createJob(b, key, { fileId, type: 'analyze' })
    await until('a job submitted after the outage to finish', async () => ['succeeded', 'failed'].includes((await getJob(b, key, afterwards.id)).status))
    assert.equal((await getJob(b, key, afterwards.id)).status, 'succeeded')

    // A's LISTEN connection subscribed again: a key revoked on B is refused on A straight away.
    assert.equal((await a.inject({ url: '/api/v1/me', headers: keyHeaders(key) })).statusCode, 200)
    const revoked = await b.inject({ method: 'DELETE', url: `/api/v1/keys/${key.split('_')[1]}`, headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken } })
    assert.equal(revoked.statusCode, 204, revoked.body)
    await until('A to hear of the revocation', async () => (await a.inject({ url: '/api/v1/me', headers: keyHeaders(key) })).statusCode === 401, 5000)
  })
})
