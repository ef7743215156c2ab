import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { parseEnv, type Config } from '../../src/config/config.ts'
import type { Backend } from '../../src/db/database.ts'
import type { Role, Tier, User } from '../../src/db/schema.ts'
import { buildApp, type AppOptions } from '../../src/app.ts'
import { openTestDb, queueSchemaFor, type TestDb } from './db.ts'

export const PASSWORD = 'a perfectly long test passphrase'

export interface Session {
  cookies: Record<string, string>
  csrfToken: string
  /** Cookie header for app.inject. */
  cookie: string
}

export interface TestApp {
  app: FastifyInstance
  config: Config
  testDb: TestDb
  close: () => Promise<void>
  createUser: (role?: Role, options?: { tier?: Tier, email?: string, password?: string }) => Promise<User>
  login: (email: string, password?: string) => Promise<Session>
  /** Signs in and returns an API key with the given scopes (default: everything the role has). */
  apiKey: (session: Session, scopes: string[], extra?: Record<string, unknown>) => Promise<string>
}

// Data directories go when the test process ends, not at close(): libraries may still have
// file I/O in flight for a moment after an app closes (tus's store creates its directory
// without waiting), and removing the tree under them crashes the process.
const doomed = new Set<string>()
process.once('exit', () => { for (const dir of doomed) fs.rmSync(dir, { recursive: true, force: true }) })
const removeAtExit = (dir: string) => doomed.add(dir)

// 48 bytes, as .env.example advises: 32 random bytes in base64url can score just under the
// production strength estimate (src/config/secret-strength.ts).
export const testSecret = () => randomBytes(48).toString('base64url')

// The suites send hundreds of requests a minute from one address and sign in as often as
// they like; rate limits stay on (every request passes the hook) but far out of reach.
// test/rate-limit.test.ts sets real ones.
export const GENEROUS_RATE_LIMITS: Record<string, string> = {
  RATE_LIMIT_REQUESTS: '1000000',
  RATE_LIMIT_PREMIUM_REQUESTS: '1000000',
  RATE_LIMIT_ENTERPRISE_REQUESTS: '1000000',
  RATE_LIMIT_UPLOADS_FREE: '1000000',
  RATE_LIMIT_UPLOADS_PREMIUM: '1000000',
  RATE_LIMIT_UPLOADS_ENTERPRISE: '1000000',
  RATE_LIMIT_LOGIN_PER_IP: '1000000',
  RATE_LIMIT_LOGIN_PER_ACCOUNT: '1000000'
}

// Load shedding by event-loop lag is off: a busy CI machine (several test files, ffmpeg,
// PGlite on two cores) lags past any threshold now and then. test/guard.test.ts sheds by heap.
export const NO_LAG_SHEDDING: Record<string, string> = { PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0' }

export function testConfig (overrides: Record<string, string> = {}): Config {
  return parseEnv({
    TYMPAN_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-test-')),
    JWT_SECRET_KEY: testSecret(),
    CSRF_SECRET_KEY: testSecret(),
    SESSION_SECRET_KEY: testSecret(),
    LOG_LEVEL: 'silent',
    ...NO_LAG_SHEDDING,
    ...GENEROUS_RATE_LIMITS,
    ...overrides
  })
}

export function cookiesFrom (response: LightMyRequestResponse): Record<string, string> {
  const out: Record<string, string> = {}
  for (const c of response.cookies as { name: string, value: string }[]) out[c.name] = c.value
  return out
}

export const cookieHeader = (cookies: Record<string, string>) =>
  Object.entries(cookies).filter(([, v]) => v !== '').map(([k, v]) => `${k}=${v}`).join('; ')

let counter = 0
export const uniqueEmail = (prefix = 'user') => `${prefix}-${process.pid}-${++counter}-${randomBytes(3).toString('hex')}@example.test`

export async function startApp (backend: Backend, overrides: Record<string, string> = {}, logger?: unknown, appOptions: Omit<AppOptions, 'config' | 'db' | 'logger'> = {}): Promise<TestApp> {
  const testDb = await openTestDb(backend)
  const config = testConfig({ ...(testDb.schema ? { JOB_QUEUE_SCHEMA: queueSchemaFor(testDb.schema) } : {}), ...overrides })
  const app = await buildApp({
    config,
    db: testDb.db,
    ...appOptions,
    ...(logger !== undefined ? { logger: logger as never } : {})
  })
  await app.ready()

  const login = async (email: string, password = PASSWORD): Promise<Session> => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } })
    if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
    const cookies = cookiesFrom(res)
    return { cookies, csrfToken: res.json().csrfToken, cookie: cookieHeader(cookies) }
  }

  return {
    app,
    config,
    testDb,
    async close () {
      await app.close()
      await testDb.close()
      removeAtExit(config.dataDir)
    },
    async createUser (role = 'member', options = {}) {
      return app.container.users.create({ email: options.email ?? uniqueEmail(role), password: options.password ?? PASSWORD, role, tier: options.tier ?? 'free' })
    },
    login,
    async apiKey (session, scopes, extra = {}) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/keys',
        headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken },
        payload: { name: 'test key', scopes, ...extra }
      })
      if (res.statusCode !== 201) throw new Error(`key creation failed: ${res.statusCode} ${res.body}`)
      return res.json().key
    }
  }
}
