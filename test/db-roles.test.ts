import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.ts'
import { openRuntime } from '../src/cli/runtime.ts'
import type { Config } from '../src/config/config.ts'
import { openDatabase, type Db } from '../src/db/database.ts'
import { listMigrations, migrate } from '../src/db/migrator.ts'
import { roleChecks } from '../src/db/role-findings.ts'
import { roleFacts, RuntimePrivilegeError } from '../src/db/runtime-role.ts'
import { PASSWORD, testConfig, uniqueEmail } from './helpers/app.ts'
import { memoryLog } from './helpers/log.ts'
import { fixture } from './helpers/audio.ts'
import { runTympan } from './helpers/cli.ts'
import { backends, TEST_DATABASE_URL } from './helpers/db.ts'
import { createJob, keyHeaders, uploadFile, waitForJob } from './helpers/jobs.ts'

const postgres = (await backends()).find((b) => b.name === 'postgres')!
const JOB_SCOPES = ['files:read', 'files:write', 'jobs:read', 'jobs:write']

/** A database of its own, owned by an owner role, and a runtime role that may only connect: the setup docs/operations.md describes. */
async function rolesAndDatabase () {
  const suffix = randomBytes(5).toString('hex')
  const names = { owner: `tympan_owner_${suffix}`, runtime: `tympan_app_${suffix}`, database: `tympan_roles_${suffix}` }
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await admin.connect()
  try {
    await admin.query(`CREATE ROLE ${names.owner} LOGIN`)
    await admin.query(`CREATE ROLE ${names.runtime} LOGIN`)
    await admin.query(`CREATE DATABASE ${names.database} OWNER ${names.owner}`)
    await admin.query(`REVOKE ALL ON DATABASE ${names.database} FROM PUBLIC`)
    await admin.query(`GRANT CONNECT ON DATABASE ${names.database} TO ${names.runtime}`)
  } finally {
    await admin.end()
  }
  const url = (role: string) => {
    const u = new URL(TEST_DATABASE_URL)
    u.username = role
    u.password = ''
    u.pathname = `/${names.database}`
    return u.toString()
  }
  return {
    names,
    ownerUrl: url(names.owner),
    runtimeUrl: url(names.runtime),
    /** Runs statements as the owner (in the new database). */
    async asOwner (...statements: string[]) {
      const client = new pg.Client({ connectionString: url(names.owner) })
      await client.connect()
      try {
        for (const statement of statements) await client.query(statement)
      } finally {
        await client.end()
      }
    },
    async drop () {
      const cleanup = new pg.Client({ connectionString: TEST_DATABASE_URL })
      await cleanup.connect()
      try {
        await cleanup.query(`DROP DATABASE IF EXISTS ${names.database} WITH (FORCE)`)
        await cleanup.query(`DROP ROLE IF EXISTS ${names.runtime}`)
        await cleanup.query(`DROP ROLE IF EXISTS ${names.owner}`)
      } finally {
        await cleanup.end()
      }
    }
  }
}

type Setup = Awaited<ReturnType<typeof rolesAndDatabase>>

const sqlState = (error: unknown) => (error as { code?: string }).code

describe('least privilege on PostgreSQL: an owner migrates, a restricted runtime role serves', { skip: postgres.skip }, () => {
  let setup: Setup
  let config: Config
  let db: Db
  let app: FastifyInstance
  const log = memoryLog()

  before(async () => {
    setup = await rolesAndDatabase()
    // A 10 s heartbeat makes pg-boss supervise every 5 s, so its maintenance runs as the runtime role too.
    config = testConfig({ DATABASE_URL: setup.runtimeUrl, DATABASE_MIGRATION_URL: setup.ownerUrl, WORKER_CONCURRENCY: '1', JOB_HEARTBEAT_SECONDS: '10' })
    const runtime = await openRuntime(config)
    db = runtime.db
    assert.deepEqual(runtime.applied, listMigrations().map((m) => m.version), 'the owner applied every migration')
    app = await buildApp({ config, db, logger: { level: 'warn', stream: log.stream } as never })
    await app.ready()
  })
  after(async () => {
    await app?.close()
    await db?.close()
    fs.rmSync(config.dataDir, { recursive: true, force: true })
    await setup?.drop()
  })

  it('serves the main flows as the runtime role: sign in, API key, upload, a job, download, delete, the sweep, revoke', async () => {
    const { rows: [who] } = await db.pool!.query<{ user: string }>('SELECT current_user AS user')
    assert.equal(who!.user, setup.names.runtime, 'the app runs as the restricted role')

    const user = await app.container.users.create({ email: uniqueEmail('roles'), password: PASSWORD, role: 'member', tier: 'free' })
    const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: PASSWORD } })
    assert.equal(login.statusCode, 200, login.body)
    const cookie = (login.cookies as { name: string, value: string }[]).map((c) => `${c.name}=${c.value}`).join('; ')
    const unsafe = { cookie, 'x-csrf-token': login.json().csrfToken as string }
    const created = await app.inject({ method: 'POST', url: '/api/v1/keys', headers: unsafe, payload: { name: 'restricted', scopes: JOB_SCOPES } })
    assert.equal(created.statusCode, 201, created.body)
    const key = created.json().key as string

    const fileId = await uploadFile(app, key, fixture('wav'))
    const job = await waitForJob(app, key, (await createJob(app, key, { type: 'analyze', fileId })).id)
    assert.equal(job.status, 'succeeded', JSON.stringify(job))
    const artifact = await app.inject({ method: 'GET', url: `/api/v1/jobs/${job.id}/artifacts/waveform.json`, headers: keyHeaders(key) })
    assert.equal(artifact.statusCode, 200)
    const content = await app.inject({ method: 'GET', url: `/api/v1/files/${fileId}/content`, headers: keyHeaders(key) })
    assert.equal(content.statusCode, 200)
    assert.equal(content.rawPayload.length, fs.statSync(fixture('wav')).size)

    const deleted = await app.inject({ method: 'DELETE', url: `/api/v1/files/${fileId}`, headers: keyHeaders(key) })
    assert.equal(deleted.statusCode, 204, deleted.body)
    // The sweep deletes an expired file, a finished job past retention and what they leave.
    const expiring = await uploadFile(app, key, fixture('ogg'))
    const report = await app.container.retention.sweep(new Date(Date.now() + 400 * 86_400_000))
    assert.ok(report.expiredFiles >= 1 && report.expiredJobs >= 1, JSON.stringify(report))
    assert.equal((await app.inject({ method: 'GET', url: `/api/v1/files/${expiring}`, headers: keyHeaders(key) })).statusCode, 404)

    const revoked = await app.inject({ method: 'DELETE', url: `/api/v1/keys/${key.split('_')[1]}`, headers: unsafe })
    assert.equal(revoked.statusCode, 204, revoked.body)
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/files', headers: keyHeaders(key) })).statusCode, 401)
    const logout = await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: unsafe })
    assert.ok(logout.statusCode < 300, logout.body)
  })

  it('runs pg-boss\'s supervision as the runtime role without an error', async () => {
    const monitored = async () => (await db.pool!.query(`SELECT 1 FROM ${config.jobs.queueSchema}.queue WHERE monitor_on IS NOT NULL`)).rowCount! > 0
    for (let tries = 0; !(await monitored()); tries++) {
      assert.ok(tries < 600, 'pg-boss never supervised the queue')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const problems = log.lines.filter((line) => (JSON.parse(line) as { level: number }).level >= 40)
    assert.deepEqual(problems, [])
  })

  it('denies the runtime role DDL: no CREATE, ALTER or DROP in either schema, no DELETE where the code never deletes', async () => {
    const denied = async (statement: string) => {
      await assert.rejects(db.pool!.query(statement), (error) => sqlState(error) === '42501', statement)
    }
    await denied('CREATE TABLE intruder (id int)')
    await denied(`CREATE TABLE ${config.jobs.queueSchema}.intruder (id int)`)
    await denied('DROP TABLE files')
    await denied('ALTER TABLE users ADD COLUMN intruder int')
    await denied(`DROP TABLE ${config.jobs.queueSchema}.job`)
    await denied('TRUNCATE audit_log')
    await denied('DELETE FROM api_keys')
    await denied('DELETE FROM job_events')
    await denied('UPDATE job_artifacts SET size = 0')
    await denied('INSERT INTO schema_migrations (version) VALUES (\'9999_intruder\')')
  })

  it('doctor reports the runtime role as restricted and the owner as able to change the schema', async () => {
    const runtime = roleChecks(await roleFacts(db, config.jobs.queueSchema))
    assert.deepEqual(runtime.filter((i) => i.status !== 'pass'), [], JSON.stringify(runtime))
    const auditHeld = /audit_log ([A-Z/]+)/.exec(runtime[0]!.detail)?.[1]?.split('/').sort()
    assert.deepEqual(auditHeld, ['DELETE', 'INSERT', 'SELECT', 'UPDATE'], runtime[0]!.detail)

    const owner = await openDatabase({ databaseUrl: setup.ownerUrl })
    try {
      const items = roleChecks(await roleFacts(owner, config.jobs.queueSchema))
      const ddl = items.find((i) => i.item.includes('no DDL'))!
      assert.equal(ddl.status, 'warn')
      assert.match(ddl.detail, new RegExp(`"${setup.names.owner}" owns schema ${config.jobs.queueSchema}, owns schema public`))
      assert.match(ddl.detail, /DATABASE_MIGRATION_URL/)
    } finally {
      await owner.close()
    }
  })

  it('refuses to start a runtime role that lacks a privilege, naming role, table, privilege and the GRANT', async () => {
    await setup.asOwner(`REVOKE DELETE ON files FROM ${setup.names.runtime}`, `REVOKE USAGE ON SCHEMA ${config.jobs.queueSchema} FROM ${setup.names.runtime}`)
    // Without DATABASE_MIGRATION_URL nothing grants it back: start-up must refuse before serving.
    const withoutOwner = testConfig({ DATABASE_URL: setup.runtimeUrl, JOB_QUEUE_SCHEMA: config.jobs.queueSchema })
    await assert.rejects(openRuntime(withoutOwner), (error: Error) => {
      assert.ok(error instanceof RuntimePrivilegeError, String(error))
      assert.match(error.message, new RegExp(`"${setup.names.runtime}" \\(DATABASE_URL\\) lacks 2 privilege`))
      assert.match(error.message, /- DELETE on table "public"\."files"/)
      assert.match(error.message, new RegExp(`- USAGE on schema "${config.jobs.queueSchema}"`))
      assert.match(error.message, new RegExp(`GRANT DELETE ON "public"\\."files" TO "${setup.names.runtime}";`))
      assert.match(error.message, /DATABASE_MIGRATION_URL/)
      return true
    })

    // The owner step puts back exactly the map; then the runtime role starts alone, with no DDL.
    const again = await openRuntime(config)
    assert.deepEqual(again.applied, [])
    await again.db.close()
    const alone = await openRuntime(withoutOwner)
    assert.deepEqual(alone.applied, [])
    await alone.db.close()
    fs.rmSync(withoutOwner.dataDir, { recursive: true, force: true })
  })

  it('takes back, at the next migration, a privilege the map does not give', async () => {
    await setup.asOwner(`GRANT DELETE, TRUNCATE ON job_artifacts TO ${setup.names.runtime}`)
    const before = roleChecks(await roleFacts(db, config.jobs.queueSchema)).find((i) => i.item.includes('beyond'))!
    assert.equal(before.status, 'warn')
    assert.match(before.detail, /DELETE\/TRUNCATE on job_artifacts/)
    const again = await openRuntime(config)
    await again.db.close()
    assert.equal(roleChecks(await roleFacts(db, config.jobs.queueSchema)).find((i) => i.item.includes('beyond'))!.status, 'pass')
  })

  it('waits, as the owner, for the index builds a pg-boss migration leaves to its background runner', async () => {
    const queue = config.jobs.queueSchema
    // What a pg-boss upgrade queues; bam_on cleared so this start's runner claims it at once.
    await setup.asOwner(
      `INSERT INTO ${queue}.bam (name, version, table_name, command) SELECT 'roles_test', version, 'job_common', 'CREATE INDEX roles_test_idx ON ${queue}.job_common (created_on)' FROM ${queue}.version`,
      `UPDATE ${queue}.version SET bam_on = NULL`)
    const again = await openRuntime(config)
    await again.db.close()
    const { rows } = await db.pool!.query(`SELECT status FROM ${queue}.bam WHERE name = 'roles_test'`)
    assert.deepEqual(rows, [{ status: 'completed' }])
    const { rows: [index] } = await db.pool!.query('SELECT to_regclass($1)::text AS name', [`${queue}.roles_test_idx`])
    assert.equal(index!.name, `${queue}.roles_test_idx`)
  })

  it('lets nodes that start together migrate and grant at once', async () => {
    const started = await Promise.all([openRuntime(config), openRuntime(config), openRuntime(config)])
    for (const { db: each } of started) await each.close()
    assert.deepEqual(started.map((s) => s.applied), [[], [], []])
  })

  it('tympan migrate grants as the owner, and doctor --production reports the runtime role', async () => {
    const env = {
      PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: process.env.HOME ?? os.tmpdir(),
      LANG: 'C.UTF-8',
      TYMPAN_DATA_DIR: config.dataDir,
      DATABASE_URL: setup.runtimeUrl
    }
    const migrated = await runTympan(['migrate'], { env: { ...env, DATABASE_MIGRATION_URL: setup.ownerUrl }, cwd: config.dataDir })
    assert.equal(migrated.code, 0, migrated.stdout + migrated.stderr)
    assert.match(migrated.stdout, /Database is up to date\./)
    const doctor = await runTympan(['doctor', '--production'], { env, cwd: config.dataDir })
    assert.match(doctor.stdout, new RegExp(`PASS  Runtime database role has the privileges Tympan needs: "${setup.names.runtime}": api_keys SELECT/INSERT/UPDATE`))
    assert.match(doctor.stdout, /PASS {2}Runtime database role cannot change the schema \(no DDL\)/)
    assert.match(doctor.stdout, /PASS {2}DATABASE_URL requires TLS \(sslmode=verify-full\): local connection/)
  })

  it('a pending migration the runtime role cannot apply is a clear refusal', async () => {
    const runtime = await openDatabase({ databaseUrl: setup.runtimeUrl })
    try {
      await assert.rejects(migrate(runtime, [...listMigrations(), { version: '9999_intruder', script: 'CREATE TABLE intruder (id int)' }]),
        /Migrations 9999_intruder are pending, and this database role may not apply them .*DATABASE_MIGRATION_URL/)
    } finally {
      await runtime.close()
    }
  })
})
