import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { describe, it } from 'node:test'
import { EnvSchema } from './config.schema.ts'
import { ConfigError, configProblems, parseEnv } from './config.ts'

const secret = (bytes = 32) => randomBytes(bytes).toString('hex').slice(0, bytes)
// What .env.example tells operators to run: `openssl rand -base64 48`.
const strong = () => randomBytes(48).toString('base64')

// One set for every test: the strength verdict is cached per value, and zxcvbn is slow.
const SECRETS = { JWT_SECRET_KEY: strong(), CSRF_SECRET_KEY: strong(), SESSION_SECRET_KEY: strong() }

const production = (overrides: Record<string, string | undefined> = {}) => parseEnv({
  TYMPAN_ENV: 'production',
  ...SECRETS,
  // TLS terminated by a proxy on the same machine.
  FORCE_HTTPS: 'true',
  TRUSTED_PROXIES: '127.0.0.1',
  ...overrides
})

describe('parseEnv', () => {
  it('fills every default from an empty environment', () => {
    const config = parseEnv({})
    assert.equal(config.env, 'development')
    assert.equal(config.isProduction, false)
    assert.equal(config.host, '127.0.0.1')
    assert.equal(config.port, 8080)
    assert.equal(config.dataDir, path.resolve('./data'))
    assert.equal(config.databaseUrl, '')
    assert.equal(config.logLevel, 'info')
    assert.equal(config.authEnabled, true)
    assert.deepEqual(config.secrets, { jwt: '', csrf: '', session: '' })
    assert.deepEqual(config.corsOrigins, [])
    assert.equal(config.limits.bodyLimit, 1_048_576)
    assert.equal(config.auth.accessTtlSec, 900)
    assert.equal(config.auth.refreshTtlDays, 30)
    assert.equal(config.auth.refreshIdleDays, 7)
  })

  it('treats an empty variable as unset and coerces numbers and booleans', () => {
    const config = parseEnv({ PORT: '', AUTH_ENABLED: 'false', RATE_LIMIT_REQUESTS: '7', CORS_ORIGINS: ' https://a.example , https://b.example ,' })
    assert.equal(config.port, 8080)
    assert.equal(config.authEnabled, false)
    assert.equal(config.rateLimit.requests.free, 7)
    assert.deepEqual(config.corsOrigins, ['https://a.example', 'https://b.example'])
  })

  for (const [name, value] of [['PORT', 'eighty'], ['PORT', '70000'], ['PORT', '-1'], ['TYMPAN_ENV', 'staging'], ['LOG_LEVEL', 'verbose'], ['AUTH_ENABLED', 'maybe']] as const) {
    it(`refuses ${name}=${value} with a ConfigError naming ${name}`, () => {
      assert.throws(() => parseEnv({ [name]: value }), (error: unknown) => {
        assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`)
        assert.match(error.message, new RegExp(`\\b${name}\\b`))
        return true
      })
    })
  }

  it('reads IMPORT_ALLOWED_PORTS as a list of ports and refuses anything else, naming it', () => {
    assert.deepEqual(parseEnv({}).intake.importAllowedPorts, [])
    assert.deepEqual(parseEnv({ IMPORT_ALLOWED_PORTS: '443, 8443' }).intake.importAllowedPorts, [443, 8443])
    for (const value of ['0', '65536', '443;80', 'https']) {
      assert.throws(() => parseEnv({ IMPORT_ALLOWED_PORTS: value }), (error: unknown) => error instanceof ConfigError && /IMPORT_ALLOWED_PORTS/.test(error.message), value)
    }
  })

  it('refuses DATABASE_MIGRATION_URL with the embedded database, or one that is not PostgreSQL, naming it', () => {
    const owner = 'postgres://owner@db.internal/tympan?sslmode=verify-full'
    for (const env of [{ DATABASE_MIGRATION_URL: owner }, { DATABASE_URL: 'postgres://app@db.internal/tympan', DATABASE_MIGRATION_URL: 'mysql://owner@db/tympan' }]) {
      assert.throws(() => parseEnv(env), (error: unknown) => error instanceof ConfigError && /DATABASE_MIGRATION_URL (needs DATABASE_URL|must be a postgres)/.test(error.message), JSON.stringify(env))
    }
    assert.equal(parseEnv({ DATABASE_URL: 'postgres://app@db.internal/tympan', DATABASE_MIGRATION_URL: owner }).migration.databaseUrl, owner)
    assert.equal(parseEnv({}).migration.databaseUrl, '')
  })

  it('reads the log file, rotation and retention settings, and refuses bad ones naming the variable', () => {
    assert.deepEqual(parseEnv({}).logs, { file: undefined, maxBytes: 10 * 1024 * 1024, backupCount: 5, retentionDays: 30, auditRetentionDays: 0 })
    const set = parseEnv({ LOG_FILE: '/var/log/tympan/tympan.log', LOG_MAX_SIZE: '100k', LOG_BACKUP_COUNT: '3', LOG_RETENTION_DAYS: '0', AUDIT_RETENTION_DAYS: '365' }).logs
    assert.deepEqual(set, { file: { path: '/var/log/tympan/tympan.log', dir: '/var/log/tympan', stem: 'tympan', extension: 'log' }, maxBytes: 102_400, backupCount: 3, retentionDays: 0, auditRetentionDays: 365 })
    for (const [name, value] of [['LOG_FILE', '/var/log/tympan/'], ['LOG_MAX_SIZE', '10x'], ['LOG_MAX_SIZE', '100'], ['LOG_BACKUP_COUNT', '0'], ['LOG_BACKUP_COUNT', 'five'], ['LOG_RETENTION_DAYS', '-1'], ['LOG_RETENTION_DAYS', '1.5'], ['AUDIT_RETENTION_DAYS', '-1'], ['AUDIT_RETENTION_DAYS', 'forever']] as const) {
      assert.throws(() => parseEnv({ [name]: value }), (error: unknown) => error instanceof ConfigError && new RegExp(`\\b${name}\\b`).test(error.message), `${name}=${value}`)
    }
  })

  it('returns a deeply frozen config', () => {
    const config = parseEnv({ CORS_ORIGINS: 'https://a.example' })
    assert.ok(Object.isFrozen(config))
    for (const inner of [config.secrets, config.auth, config.limits, config.rateLimit, config.admin, config.corsOrigins]) {
      assert.ok(Object.isFrozen(inner))
    }
    assert.throws(() => { (config as { port: number }).port = 1 }, TypeError)
    assert.throws(() => { (config.secrets as { jwt: string }).jwt = 'x' }, TypeError)
    assert.throws(() => { (config.corsOrigins as string[]).push('*') }, TypeError)
  })
})

describe('configProblems', () => {
  it('accepts a complete production configuration', () => {
    assert.deepEqual(configProblems(production()), [])
  })

  it('has no production requirements in development', () => {
    assert.deepEqual(configProblems(parseEnv({ LOG_LEVEL: 'debug', CORS_ORIGINS: '*' })), [])
  })

  for (const name of ['JWT_SECRET_KEY', 'CSRF_SECRET_KEY', 'SESSION_SECRET_KEY']) {
    it(`names ${name} when it is missing in production`, () => {
      const problems = configProblems(production({ [name]: undefined }))
      assert.equal(problems.length, 1, problems.join('\n'))
      assert.match(problems[0]!, new RegExp(`^${name}\\b.*missing`))
    })

    it(`names ${name} when it is shorter than 32 bytes`, () => {
      const problems = configProblems(production({ [name]: secret(31) }))
      assert.equal(problems.length, 1, problems.join('\n'))
      assert.match(problems[0]!, new RegExp(`^${name}\\b.*32 bytes`))
    })
  }

  it('accepts the output of openssl rand -base64 48 and -hex 32 for every secret', () => {
    const hex = () => randomBytes(32).toString('hex')
    assert.deepEqual(configProblems(production({ CSRF_SECRET_KEY: hex(), METRICS_TOKEN: strong(), INTERNAL_API_KEYS: `${strong()},${hex()}` })), [])
  })

  for (const name of ['JWT_SECRET_KEY', 'CSRF_SECRET_KEY', 'SESSION_SECRET_KEY', 'METRICS_TOKEN', 'INTERNAL_API_KEYS']) {
    it(`refuses a guessable or placeholder ${name} of 32 bytes or more, naming it and never quoting it`, () => {
      for (const weak of ['a'.repeat(64), 'correct horse battery staple and then some more', 'change-me-change-me-change-me-change-me']) {
        const problems = configProblems(production({ [name]: weak }))
        assert.equal(problems.length, 1, `${weak}: ${problems.join('\n')}`)
        assert.match(problems[0]!, new RegExp(`^${name} .*(guessable|placeholder)`), weak)
        assert.ok(!problems[0]!.includes(weak), 'the value stays out of the message')
      }
    })
  }

  it('refuses every secret value shown in .env.example', () => {
    const text = fs.readFileSync(path.join(import.meta.dirname, '..', '..', '.env.example'), 'utf8')
    const shown = [...text.matchAll(/^(?:# ?)?(JWT_SECRET_KEY|CSRF_SECRET_KEY|SESSION_SECRET_KEY|METRICS_TOKEN|INTERNAL_API_KEYS)=(.+)$/gm)]
    for (const [, name, value] of shown) {
      for (const one of name === 'INTERNAL_API_KEYS' ? value!.split(',') : [value!]) {
        assert.ok(configProblems(production({ [name!]: one.trim() })).some((p) => p.startsWith(`${name} `)), `${name}=${one} from .env.example is accepted`)
      }
    }
  })

  it('counts bytes, not characters', () => {
    // 16 two-byte characters: 32 bytes (long enough, but a repeat); 15 of them is 30 bytes.
    assert.match(configProblems(production({ JWT_SECRET_KEY: 'é'.repeat(16) }))[0]!, /guessable/)
    assert.match(configProblems(production({ JWT_SECRET_KEY: 'é'.repeat(15) }))[0]!, /shorter than 32 bytes/)
  })

  it('refuses IMPORT_ALLOW_HTTP=true in production, naming it', () => {
    assert.deepEqual(configProblems(production({ IMPORT_ALLOW_HTTP: 'true' })), ['IMPORT_ALLOW_HTTP=true is not allowed in production: a plain-HTTP download can be altered on the way'])
    assert.deepEqual(configProblems(parseEnv({ IMPORT_ALLOW_HTTP: 'true' })), [])
  })

  it('refuses plain HTTP in production unless TLS is native or terminated by a trusted proxy', () => {
    const plain = /^TLS_CERT_FILE\/TLS_KEY_FILE, or FORCE_HTTPS=true with TRUSTED_PROXIES, is required in production/
    for (const env of [{ FORCE_HTTPS: undefined, TRUSTED_PROXIES: undefined }, { FORCE_HTTPS: 'false' }, { TRUSTED_PROXIES: undefined }]) {
      const problems = configProblems(production(env))
      assert.equal(problems.length, 1, JSON.stringify(env))
      assert.match(problems[0]!, plain)
    }
    assert.deepEqual(configProblems(production({ FORCE_HTTPS: undefined, TRUSTED_PROXIES: undefined, TLS_CERT_FILE: '/etc/tympan/cert.pem', TLS_KEY_FILE: '/etc/tympan/key.pem' })), [])
  })

  it('refuses FORCE_HTTPS=true with a plain-HTTP PUBLIC_URL in every environment', () => {
    const problem = 'FORCE_HTTPS=true needs an https:// PUBLIC_URL (PUBLIC_URL=http://audio.example.com)'
    assert.deepEqual(configProblems(parseEnv({ FORCE_HTTPS: 'true', PUBLIC_URL: 'http://audio.example.com' })), [problem])
    assert.deepEqual(configProblems(production({ PUBLIC_URL: 'http://audio.example.com' })), [problem])
    assert.deepEqual(configProblems(production({ PUBLIC_URL: 'https://audio.example.com' })), [])
  })

  for (const [name, value] of [['AUTH_ENABLED', 'false'], ['CORS_ORIGINS', '*'], ['CORS_ORIGINS', 'https://a.example,*'], ['LOG_LEVEL', 'debug'], ['LOG_LEVEL', 'trace']] as const) {
    it(`refuses ${name}=${value} in production, naming ${name}`, () => {
      const problems = configProblems(production({ [name]: value }))
      assert.ok(problems.length >= 1)
      assert.ok(problems.some((p) => p.includes(name)), problems.join('\n'))
    })
  }

  it('refuses AUTH_ENABLED=false on a non-loopback HOST even in development', () => {
    const problems = configProblems(parseEnv({ AUTH_ENABLED: 'false', HOST: '0.0.0.0' }))
    assert.equal(problems.length, 1)
    assert.match(problems[0]!, /AUTH_ENABLED/)
    assert.match(problems[0]!, /HOST/)
    assert.deepEqual(configProblems(parseEnv({ AUTH_ENABLED: 'false', HOST: '127.0.0.1' })), [])
    assert.deepEqual(configProblems(parseEnv({ AUTH_ENABLED: 'false', HOST: '::1' })), [])
  })

  it('refuses a short internal API key in production, naming INTERNAL_API_KEYS', () => {
    const problems = configProblems(production({ INTERNAL_API_KEYS: `${strong()},short` }))
    assert.equal(problems.length, 1)
    assert.match(problems[0]!, /INTERNAL_API_KEYS/)
  })
})

describe('.env.example', () => {
  const file = path.join(import.meta.dirname, '..', '..', '.env.example')

  it('documents exactly the variables of EnvSchema', () => {
    const text = fs.readFileSync(file, 'utf8')
    const documented = new Set<string>()
    for (const line of text.split('\n')) {
      const match = /^(?:# ?)?([A-Z][A-Z0-9_]*)=/.exec(line)
      if (match) documented.add(match[1]!)
    }
    const schema = new Set(Object.keys(EnvSchema.properties))
    const missing = [...schema].filter((name) => !documented.has(name))
    const unknown = [...documented].filter((name) => !schema.has(name))
    assert.deepEqual(missing, [], `variables missing from .env.example: ${missing.join(', ')}`)
    assert.deepEqual(unknown, [], `.env.example documents variables Tympan does not read: ${unknown.join(', ')}`)
  })

  it('shows each variable with its schema default where it sets one', () => {
    const text = fs.readFileSync(file, 'utf8')
    const properties = EnvSchema.properties as Record<string, { default?: unknown }>
    for (const line of text.split('\n')) {
      const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line)
      if (!match) continue
      const [, name, value] = match as unknown as [string, string, string]
      const fallback = properties[name]?.default
      assert.equal(value, String(fallback ?? ''), `${name} in .env.example differs from its default`)
    }
  })
})
