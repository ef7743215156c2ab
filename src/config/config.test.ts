import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { describe, it } from 'node:test'
import { EnvSchema } from './config.schema.ts'
import { ConfigError, configProblems, parseEnv } from './config.ts'

const secret = (bytes = 32) => randomBytes(bytes).toString('hex').slice(0, bytes)

const production = (overrides: Record<string, string | undefined> = {}) => parseEnv({
  TYMPAN_ENV: 'production',
  JWT_SECRET_KEY: secret(),
  CSRF_SECRET_KEY: secret(),
  SESSION_SECRET_KEY: secret(),
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

  it('accepts a secret of exactly 32 bytes', () => {
    assert.deepEqual(configProblems(production({ JWT_SECRET_KEY: 'x'.repeat(32) })), [])
  })

  it('counts bytes, not characters', () => {
    // 16 two-byte characters: 16 characters but 32 bytes; 15 of them is 30 bytes.
    assert.deepEqual(configProblems(production({ JWT_SECRET_KEY: 'é'.repeat(16) })), [])
    assert.equal(configProblems(production({ JWT_SECRET_KEY: 'é'.repeat(15) })).length, 1)
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
    const problems = configProblems(production({ INTERNAL_API_KEYS: `${secret()},short` }))
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
