import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { quoteIdent } from '../src/db/database.ts'
import { backends, TEST_DATABASE_URL } from './helpers/db.ts'
import { cliEnv, runTympan, serveTympan, withTimeout, type CliResult, type ServedTympan } from './helpers/cli.ts'

// End to end: every case drives bin/tympan in a child process, from a directory outside the
// repository, with an environment built from scratch (nothing leaks in from the test runner).
const ROOT = path.resolve(import.meta.dirname, '..')
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version
const CWD = os.tmpdir()
const STRONG = 'correct horse battery staple, but longer'

type Result = CliResult

const temps: string[] = []
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-cli-'))
  temps.push(dir)
  return dir
}
const secret = () => randomBytes(48).toString('base64url')

const baseEnv = cliEnv

const run = (args: string[], env: NodeJS.ProcessEnv, input?: string, timeoutMs = 120_000): Promise<Result> =>
  runTympan(args, { env, cwd: CWD, ...(input !== undefined ? { input } : {}), timeoutMs })

type Server = ServedTympan

const startServer = (env: NodeJS.ProcessEnv): Promise<Server> => serveTympan(env, { cwd: CWD, readyMs: 120_000 })

async function login (url: string, email: string, password: string) {
  const res = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password, tokens: true })
  })
  return { status: res.status, body: await res.json() as { user?: { email: string, role: string, tier: string, mustChangePassword: boolean }, accessToken?: string } }
}

/** One API call with a bearer token or an API key. */
async function call (url: string, credential: { bearer: string } | { key: string }, method: string, route: string, body?: unknown) {
  const res = await fetch(`${url}${route}`, {
    method,
    headers: {
      ...('bearer' in credential ? { authorization: `Bearer ${credential.bearer}` } : { 'x-api-key': credential.key }),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {})
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {})
  })
  return { status: res.status, body: await res.json() as Record<string, unknown> }
}

/** Signs in with a one-time password and replaces it with `next`, as the gate demands. */
async function signInAndChange (url: string, email: string, oneTime: string, next: string) {
  const res = await login(url, email, oneTime)
  assert.equal(res.status, 200)
  assert.equal(res.body.user?.mustChangePassword, true)
  const bearer = { bearer: res.body.accessToken! }
  const refused = await call(url, bearer, 'GET', '/api/v1/files')
  assert.equal(refused.status, 403)
  assert.equal(refused.body.code, 'password_change_required')
  assert.equal((await call(url, bearer, 'POST', '/api/v1/me/password', { currentPassword: oneTime, newPassword: next })).status, 200)
  assert.equal((await call(url, bearer, 'GET', '/api/v1/files')).status, 200)
  return bearer
}

const PASSWORD_FILE = 'initial-admin-password'

const postgres = (await backends()).find((b) => b.name === 'postgres')!

after(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true })
})

// Three groups side by side, each one process at a time: PGlite start-up is CPU-bound.
describe('tympan CLI', { concurrency: 3 }, () => {
  describe('without a database', { concurrency: false }, () => {
    it('--version prints the package.json version', async () => {
      const res = await run(['--version'], baseEnv(tempDir()))
      assert.equal(res.code, 0, res.stderr)
      assert.equal(res.stdout.trim(), VERSION)
    })

    it('--help lists the commands', async () => {
      const res = await run(['--help'], baseEnv(tempDir()))
      assert.equal(res.code, 0, res.stderr)
      for (const command of ['serve', 'migrate', 'admin', 'doctor']) assert.match(res.stdout, new RegExp(`^\\s+${command}\\b`, 'm'))
    })

    it('exits 2 on an unknown command, naming it', async () => {
      const res = await run(['frobnicate'], baseEnv(tempDir()))
      assert.equal(res.code, 2)
      assert.match(res.stderr, /unknown command "frobnicate"/)
    })

    it('refuses an invalid admin role before touching anything', async () => {
      const dataDir = tempDir()
      const res = await run(['admin', 'user', 'create', '--email', 'x@example.test', '--role', 'superuser'], baseEnv(dataDir))
      assert.equal(res.code, 1)
      assert.match(res.stderr, /role must be one of: admin, member, viewer/)
      assert.ok(!fs.existsSync(path.join(dataDir, 'db')), 'no database was created')
    })

    const production = () => ({ TYMPAN_ENV: 'production', JWT_SECRET_KEY: secret(), CSRF_SECRET_KEY: secret(), SESSION_SECRET_KEY: secret(), FORCE_HTTPS: 'true', TRUSTED_PROXIES: '127.0.0.1' })
    const refusals: [string, Record<string, string>, RegExp][] = [
      ['JWT_SECRET_KEY missing', { JWT_SECRET_KEY: '' }, /JWT_SECRET_KEY is missing/],
      ['a 31-byte CSRF_SECRET_KEY', { CSRF_SECRET_KEY: 'c'.repeat(31) }, /CSRF_SECRET_KEY is shorter than 32 bytes/],
      ['a repeated SESSION_SECRET_KEY', { SESSION_SECRET_KEY: 's'.repeat(64) }, /SESSION_SECRET_KEY is guessable/],
      ['IMPORT_ALLOW_HTTP=true', { IMPORT_ALLOW_HTTP: 'true' }, /IMPORT_ALLOW_HTTP=true is not allowed in production/],
      ['plain HTTP', { FORCE_HTTPS: 'false' }, /FORCE_HTTPS=true with TRUSTED_PROXIES, is required in production/],
      ['AUTH_ENABLED=false', { AUTH_ENABLED: 'false' }, /AUTH_ENABLED=false/],
      ['CORS_ORIGINS=*', { CORS_ORIGINS: '*' }, /CORS_ORIGINS=\*/],
      ['LOG_LEVEL=debug', { LOG_LEVEL: 'debug' }, /LOG_LEVEL=debug/]
    ]
    for (const [name, overrides, message] of refusals) {
      it(`refuses to serve in production with ${name}`, async () => {
        const dataDir = tempDir()
        const res = await run(['serve'], baseEnv(dataDir, { ...production(), ...overrides, PORT: '0' }))
        assert.notEqual(res.code, 0)
        assert.match(res.stderr, message)
        assert.match(res.stderr, /production/)
        // Production never generates secrets, and never got as far as the database.
        assert.deepEqual(fs.readdirSync(dataDir), [])
      })
    }

    it('refuses a malformed variable, naming it', async () => {
      const res = await run(['migrate'], baseEnv(tempDir(), { PORT: 'eighty' }))
      assert.notEqual(res.code, 0)
      assert.match(res.stderr, /PORT/)
    })
  })

  describe('on the embedded database', { concurrency: false }, () => {
    const dataDir = tempDir()
    const env = (extra: Record<string, string> = {}) => baseEnv(dataDir, extra)
    const secretsFile = path.join(dataDir, 'secrets.json')
    const lockFile = path.join(dataDir, 'db.lock')
    let adminPassword = ''
    let secretsContent = ''
    let resetPassword = ''
    const email = `cli-${randomBytes(3).toString('hex')}@example.test`

    it('migrate applies the migrations, then finds nothing to do', async () => {
      const first = await run(['migrate'], env())
      assert.equal(first.code, 0, first.stderr)
      assert.match(first.stdout, /^Applied: 0001_identity/)
      const second = await run(['migrate'], env())
      assert.equal(second.code, 0, second.stderr)
      assert.match(second.stdout, /up to date/)
      assert.ok(!fs.existsSync(lockFile), 'migrate released the database lock')
    })

    it('refuses a weak TYMPAN_ADMIN_PASSWORD on first start, naming it, and releases the database', async () => {
      const res = await run(['serve'], env({ TYMPAN_ADMIN_PASSWORD: 'short', PORT: '0' }))
      assert.notEqual(res.code, 0)
      assert.match(res.stderr, /TYMPAN_ADMIN_PASSWORD is not acceptable/)
      assert.ok(!fs.existsSync(lockFile), 'a failed start released the database lock')
    })

    it('first start puts a generated one-time admin password in a 0600 file (stderr is no terminal), never in the log, and it signs in to be changed', async () => {
      const server = await startServer(env())
      try {
        const { stdout, stderr } = server.output()
        const passwordFile = path.join(dataDir, PASSWORD_FILE)
        assert.equal(fs.statSync(passwordFile).mode & 0o777, 0o600)
        const generated = fs.readFileSync(passwordFile, 'utf8').trim()
        assert.ok(generated.length >= 16)
        assert.ok(!stderr.includes(generated), 'the password reached stderr')
        assert.ok(!stdout.includes(generated), 'the password reached the JSON log')
        assert.doesNotMatch(stderr, /One-time password/)
        const logLines = stdout.split('\n').filter(Boolean)
        assert.ok(logLines.length > 0)
        for (const line of logLines) assert.doesNotThrow(() => JSON.parse(line), `not a JSON log line: ${line}`)
        const told = logLines.map((line) => JSON.parse(line) as { file?: string, msg: string }).find((line) => line.file !== undefined)
        assert.equal(told?.file, passwordFile, 'the log names the file')

        const res = await login(server.url, 'admin@tympan.local', generated)
        assert.equal(res.status, 200)
        assert.equal(res.body.user?.role, 'admin')
        assert.ok(!server.output().stdout.includes(res.body.accessToken!))
        adminPassword = `${STRONG} for the admin`
        await signInAndChange(server.url, 'admin@tympan.local', generated, adminPassword)
        assert.ok(!fs.existsSync(passwordFile), 'the change removed the file')
        assert.equal((await login(server.url, 'admin@tympan.local', generated)).status, 401)

        // Development secrets were generated into the data dir, readable by the owner only.
        const stat = fs.statSync(secretsFile)
        assert.equal(stat.mode & 0o777, 0o600)
        secretsContent = fs.readFileSync(secretsFile, 'utf8')
        const stored = JSON.parse(secretsContent) as Record<string, string>
        for (const value of Object.values(stored)) assert.ok(Buffer.byteLength(value) >= 32)

        // The embedded database belongs to the server while it runs.
        const second = await run(['admin', 'user', 'list'], env())
        assert.equal(second.code, 1)
        assert.match(second.stderr, /in use/)
        assert.match(second.stderr, new RegExp(`process ${server.child.pid}`))

        const doctor = await run(['doctor'], env())
        assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr)
        assert.match(doctor.stdout, /database/)

        // SIGTERM while a sign-in is half-sent: it is answered, then the process exits 0.
        const body = JSON.stringify({ email: 'admin@tympan.local', password: adminPassword, tokens: true })
        const request = http.request({
          host: '127.0.0.1',
          port: server.port,
          method: 'POST',
          path: '/api/v1/auth/login',
          agent: false,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
        })
        const response = new Promise<{ status: number, body: string }>((resolve, reject) => {
          request.on('response', (res) => {
            let text = ''
            res.on('data', (chunk: Buffer) => { text += chunk.toString('utf8') })
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
          })
          request.on('error', reject)
        })
        request.write(body.slice(0, 10))
        await sleep(300)
        server.child.kill('SIGTERM')
        await sleep(300)
        // New connections are no longer served while the in-flight one finishes.
        const late = await fetch(`${server.url}/healthz`).then((r) => r.status, () => 'refused')
        assert.ok(late === 'refused' || late === 503, `a new request during shutdown got ${late}`)
        request.end(body.slice(10))
        const answered = await response
        assert.equal(answered.status, 200, answered.body)
        assert.ok(JSON.parse(answered.body).accessToken)
        const exit = await withTimeout(server.exited, 15_000, 'no exit after SIGTERM')
        assert.deepEqual(exit, { code: 0, signal: null }, server.output().stderr)
        assert.match(server.output().stdout, /shutting down/)
        assert.ok(!fs.existsSync(lockFile), 'the server released the database lock')
      } finally {
        if (server.child.exitCode === null) await server.stop()
      }
    })

    it('exits non-zero when the port is taken, and releases the database', async () => {
      const blocker = net.createServer()
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
      try {
        const port = (blocker.address() as net.AddressInfo).port
        const res = await run(['serve'], env({ PORT: String(port) }))
        assert.notEqual(res.code, 0, res.stderr)
        assert.match(res.stderr, /EADDRINUSE/)
        assert.ok(!fs.existsSync(lockFile), 'a failed start released the database lock')
      } finally {
        await new Promise((resolve) => blocker.close(resolve))
      }
    })

    it('admin user create, list, set-role, set-tier and reset-password', async () => {
      const create = await run(['admin', 'user', 'create', '--email', email, '--role', 'viewer', '--password-stdin'], env(), `${STRONG}\n`)
      assert.equal(create.code, 0, create.stderr)
      assert.match(create.stdout, new RegExp(`Created viewer ${email}`))
      assert.ok(!create.stdout.includes(STRONG))
      assert.doesNotMatch(create.stdout, /Password \(shown once\)/)

      const listed = await run(['admin', 'user', 'list'], env())
      assert.equal(listed.code, 0, listed.stderr)
      const row = listed.stdout.split('\n').find((line) => line.includes(email))
      assert.ok(row, listed.stdout)
      assert.deepEqual(row.split('\t').slice(1), [email, 'viewer', 'free', 'active'])
      assert.match(listed.stdout, /admin@tympan\.local\tadmin/)
      assert.doesNotMatch(listed.stdout, /argon2|service@tympan/)

      const role = await run(['admin', 'user', 'set-role', email, 'member'], env())
      assert.equal(role.code, 0, role.stderr)
      assert.match(role.stdout, /is now member/)

      const tier = await run(['admin', 'user', 'set-tier', email, 'premium'], env())
      assert.equal(tier.code, 0, tier.stderr)

      const reset = await run(['admin', 'user', 'reset-password', email], env())
      assert.equal(reset.code, 0, reset.stderr)
      const match = /New password \(shown once\): (\S+)/.exec(reset.stdout)
      assert.ok(match, reset.stdout)
      resetPassword = match[1]!
      assert.notEqual(resetPassword, STRONG)
      assert.match(reset.stdout, /one-time: it must be changed at first sign-in, and stops working after 72 h/)
    })

    it('a restart reuses the secrets, prints no password, removes a spent password file, and serves the changes made by the CLI', async () => {
      // As if the admin had changed the password on another server: the file is spent.
      const passwordFile = path.join(dataDir, PASSWORD_FILE)
      fs.writeFileSync(passwordFile, 'spent\n', { mode: 0o600 })
      const server = await startServer(env())
      try {
        assert.doesNotMatch(server.output().stderr, /One-time password/)
        assert.ok(!fs.existsSync(passwordFile), 'the spent file was removed at start')
        assert.equal(fs.readFileSync(secretsFile, 'utf8'), secretsContent)
        assert.equal(fs.statSync(secretsFile).mode & 0o777, 0o600)

        assert.equal((await login(server.url, 'admin@tympan.local', adminPassword)).status, 200)
        assert.equal((await login(server.url, email, STRONG)).status, 401)
        const res = await login(server.url, email, resetPassword)
        assert.equal(res.status, 200)
        assert.equal(res.body.user?.role, 'member')
        assert.equal(res.body.user?.tier, 'premium')
        assert.equal(res.body.user?.mustChangePassword, true, 'a reset password is one-time')
      } finally {
        const exit = await server.stop()
        assert.deepEqual(exit, { code: 0, signal: null })
      }
      assert.ok(!fs.existsSync(lockFile))
    })

    it('admin user disable marks the user disabled', async () => {
      const disabled = await run(['admin', 'user', 'disable', email], env())
      assert.equal(disabled.code, 0, disabled.stderr)
      const listed = await run(['admin', 'user', 'list'], env())
      const row = listed.stdout.split('\n').find((line) => line.includes(email))
      assert.deepEqual(row?.split('\t').slice(1), [email, 'member', 'premium', 'disabled'])
    })

    it('doctor exits 0 and reports the database', async () => {
      const res = await run(['doctor'], env())
      assert.equal(res.code, 0, res.stdout + res.stderr)
      assert.match(res.stdout, /^ok\s+database reachable \(embedded PGlite\)/m)
      assert.match(res.stdout, /configuration valid \(development mode/)
      // The engines report themselves: the Debian package version and the installed models.
      const version = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'pocketsphinx']).toString().trim()
      assert.match(res.stdout, new RegExp(`^ok\\s+pocketsphinx: pocketsphinx ${version.replace(/[.+]/g, '\\$&')}, languages (\\S+ )*en\\b`, 'm'))
      assert.match(res.stdout, /^ok\s+analyze: ffmpeg \d/m)
      assert.match(res.stdout, /^warn\s+whisper not configured: set WHISPER_CPP_BIN and WHISPER_MODEL$/m)
    })
  })

  describe('on PostgreSQL', { concurrency: false }, () => {
    const database = `tympan_cli_${randomBytes(4).toString('hex')}`
    const admin = () => new pg.Client({ connectionString: TEST_DATABASE_URL })
    const databaseUrl = () => {
      const url = new URL(TEST_DATABASE_URL)
      url.pathname = `/${database}`
      return url.toString()
    }

    before(async () => {
      if (postgres.skip) return
      const client = admin()
      await client.connect()
      await client.query(`CREATE DATABASE ${quoteIdent(database)}`)
      await client.end()
    })
    after(async () => {
      if (postgres.skip) return
      const client = admin()
      await client.connect()
      await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`)
      await client.end()
    })

    it('migrate works with DATABASE_URL, and a second run finds nothing to do', { skip: postgres.skip }, async () => {
      const dataDir = tempDir()
      const first = await run(['migrate'], baseEnv(dataDir, { DATABASE_URL: databaseUrl() }))
      assert.equal(first.code, 0, first.stderr)
      assert.match(first.stdout, /^Applied: 0001_identity/)
      const second = await run(['migrate'], baseEnv(dataDir, { DATABASE_URL: databaseUrl() }))
      assert.equal(second.code, 0, second.stderr)
      assert.match(second.stdout, /up to date/)
      assert.ok(!fs.existsSync(path.join(dataDir, 'db')), 'no embedded database was created')

      const client = new pg.Client({ connectionString: databaseUrl() })
      await client.connect()
      const tables = await client.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
      await client.end()
      const names = tables.rows.map((r) => r.table_name)
      for (const table of ['users', 'sessions', 'api_keys', 'audit_log', 'schema_migrations']) assert.ok(names.includes(table), names.join(', '))

      const doctor = await run(['doctor'], baseEnv(dataDir, { DATABASE_URL: databaseUrl() }))
      assert.equal(doctor.code, 0, doctor.stdout)
      assert.match(doctor.stdout, /database reachable \(PostgreSQL\)/)
    })

    it('first start with INTERNAL_API_KEYS still creates the admin; a CLI disable reaches the running server at once', { skip: postgres.skip }, async () => {
      const dataDir = tempDir()
      const env = baseEnv(dataDir, { DATABASE_URL: databaseUrl(), INTERNAL_API_KEYS: secret() })
      const server = await startServer(env)
      try {
        // The service account of the internal keys exists before the first admin; it does not count.
        const generated = fs.readFileSync(path.join(dataDir, PASSWORD_FILE), 'utf8').trim()
        await signInAndChange(server.url, 'admin@tympan.local', generated, `${STRONG} for the admin`)

        const email = `bus-${randomBytes(3).toString('hex')}@example.test`
        const create = await run(['admin', 'user', 'create', '--email', email, '--password-stdin'], env, `${STRONG}\n`)
        assert.equal(create.code, 0, create.stderr)
        const bearer = await signInAndChange(server.url, email, STRONG, `${STRONG}, changed`)
        const created = await call(server.url, bearer, 'POST', '/api/v1/keys', { name: 'bus', scopes: ['files:read'] })
        assert.equal(created.status, 201)
        const key = { key: String(created.body.key) }
        // The server now holds the key and its owner in its credential cache (60 s).
        assert.equal((await call(server.url, key, 'GET', '/api/v1/files')).status, 200)

        const disabled = await run(['admin', 'user', 'disable', email], env)
        assert.equal(disabled.code, 0, disabled.stderr)
        // LISTEN/NOTIFY delivers within milliseconds; give it two seconds, not the cache's 60.
        const deadline = Date.now() + 2000
        let status = 0
        while ((status = (await call(server.url, key, 'GET', '/api/v1/files')).status) === 200 && Date.now() < deadline) await sleep(50)
        assert.equal(status, 401, 'the disabled user\'s key is refused without waiting for the cache')
      } finally {
        await server.stop()
      }
    })
  })
})
