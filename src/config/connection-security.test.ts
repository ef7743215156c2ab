import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { postgresTlsCheck, redisChecks } from './connection-security.ts'

describe('connection security checks', () => {
  it('passes a PostgreSQL URL that requires TLS, recommending verify-full over require', () => {
    assert.equal(postgresTlsCheck('DATABASE_URL', 'postgres://app:pw@db.internal/tympan?sslmode=verify-full').status, 'pass')
    assert.equal(postgresTlsCheck('DATABASE_URL', 'postgres://app:pw@db.internal/tympan?ssl=true').status, 'pass')
    for (const mode of ['require', 'verify-ca']) {
      const check = postgresTlsCheck('DATABASE_URL', `postgres://app:pw@db.internal/tympan?sslmode=${mode}`)
      assert.equal(check.status, 'pass')
      assert.match(check.detail, /verify-full is recommended/)
    }
  })

  it('warns when a remote PostgreSQL URL does not require TLS, naming the variable', () => {
    for (const query of ['', '?sslmode=prefer', '?sslmode=disable', '?sslmode=no-verify', '?ssl=false']) {
      const check = postgresTlsCheck('DATABASE_MIGRATION_URL', `postgres://owner:pw@10.0.0.5:5432/tympan${query}`)
      assert.equal(check.status, 'warn', query)
      assert.match(check.item, /^DATABASE_MIGRATION_URL requires TLS/)
      assert.match(check.detail, /sslmode=verify-full/)
    }
  })

  it('does not ask for TLS on a connection that stays on the machine', () => {
    for (const url of ['postgres://app@127.0.0.1/tympan', 'postgres://app@localhost/tympan', 'postgres://app@[::1]/tympan', 'postgresql:///tympan?host=/run/postgresql']) {
      assert.equal(postgresTlsCheck('DATABASE_URL', url).status, 'pass', url)
    }
  })

  it('warns for Redis without a password, and without TLS off the machine', () => {
    const statuses = (url: string) => redisChecks(url).map((c) => c.status)
    assert.deepEqual(statuses('rediss://:s3cret@cache.internal:6380'), ['pass', 'pass'])
    assert.deepEqual(statuses('rediss://tympan:s3cret@cache.internal:6380'), ['pass', 'pass'])
    assert.deepEqual(statuses('redis://cache.internal:6379'), ['warn', 'warn'])
    assert.deepEqual(statuses('redis://:s3cret@cache.internal:6379'), ['pass', 'warn'])
    assert.deepEqual(statuses('rediss://cache.internal:6380'), ['warn', 'pass'])
    // Loopback: no TLS needed, but any local process could still use a Redis without AUTH.
    assert.deepEqual(statuses('redis://127.0.0.1:6379'), ['warn', 'pass'])
  })

  it('never repeats the password in a finding', () => {
    for (const check of [...redisChecks('redis://tympan:s3cret@cache.internal:6379'), postgresTlsCheck('DATABASE_URL', 'postgres://app:s3cret@db.internal/tympan')]) {
      assert.doesNotMatch(`${check.item} ${check.detail}`, /s3cret/)
    }
  })
})
