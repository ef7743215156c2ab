import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PUBLIC, type Principal } from '../access/permissions.ts'
import { accountKey, addressKey, isExempt, rateLimitHeaders, rateLimitSubject, retryAfterSeconds, tighter } from './rate-limit.policy.ts'

describe('addressKey', () => {
  const cases: [string, string, string][] = [
    ['IPv4 as is', '203.0.113.7', '203.0.113.7'],
    ['IPv6 by /64', '2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    ['the same /64, another host', '2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['compressed zeros inside the prefix', '2001:db8::1', '2001:db8::/64'],
    ['upper case', '2001:DB8:1:2::FFFF', '2001:db8:1:2::/64'],
    ['IPv4-mapped IPv6 as the IPv4 address', '::ffff:198.51.100.4', '198.51.100.4'],
    ['loopback IPv6', '::1', '::/64'],
    ['not an address (left alone)', 'unknown', 'unknown']
  ]
  for (const [name, input, expected] of cases) {
    it(name, () => assert.equal(addressKey(input), expected))
  }

  it('keeps neighbouring /64s apart', () => {
    assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'))
  })
})

describe('rateLimitSubject', () => {
  const base = { userId: 'u1', user: {} as Principal['user'], role: 'member', tier: 'premium', scopes: [], viaCookie: false } as const

  it('keys an API key by its id, with its owner\'s tier', () => {
    assert.deepEqual(rateLimitSubject({ ...base, kind: 'api_key', keyId: 'abc123' }, '198.51.100.1'), { kind: 'api_key', key: 'api_key:abc123', tier: 'premium' })
  })

  it('keys a session by the user', () => {
    assert.deepEqual(rateLimitSubject({ ...base, kind: 'session' }, '198.51.100.1'), { kind: 'user', key: 'user:u1', tier: 'premium' })
  })

  it('keys an anonymous (or refused) request by address, on the free tier', () => {
    assert.deepEqual(rateLimitSubject(undefined, '2001:db8:1:2::5'), { kind: 'ip', key: 'ip:2001:db8:1:2::/64', tier: 'free' })
  })

  it('never limits internal service keys', () => {
    assert.equal(rateLimitSubject({ ...base, kind: 'internal', keyId: 'internal:x' }, '198.51.100.1'), undefined)
  })
})

describe('rate-limit headers', () => {
  it('renders the IETF fields, reset in whole seconds rounded up', () => {
    assert.deepEqual(rateLimitHeaders({ limit: 100, remaining: 7, resetMs: 12_001 }), {
      'ratelimit-limit': '100', 'ratelimit-remaining': '7', 'ratelimit-reset': '13'
    })
  })

  it('never promises a negative remainder or a zero Retry-After', () => {
    assert.equal(rateLimitHeaders({ limit: 1, remaining: -3, resetMs: 0 })['ratelimit-remaining'], '0')
    assert.equal(retryAfterSeconds(0), 1)
    assert.equal(retryAfterSeconds(1500), 2)
  })

  it('shows the budget closest to running out', () => {
    const general = { limit: 100, remaining: 90, resetMs: 30_000 }
    const uploads = { limit: 10, remaining: 2, resetMs: 50_000 }
    assert.equal(tighter(undefined, general), general)
    assert.equal(tighter(general, uploads), uploads)
    assert.equal(tighter(uploads, general), uploads)
    assert.equal(tighter({ ...general, remaining: 2 }, uploads), uploads, 'on a tie, the later reset')
  })
})

describe('rate-limit keys and exemptions', () => {
  it('counts an account from one client, whatever the case and spacing of the email', () => {
    assert.equal(accountKey(' Alice@Example.TEST ', '203.0.113.7'), accountKey('alice@example.test', '203.0.113.7'))
    assert.notEqual(accountKey('alice@example.test', '203.0.113.7'), accountKey('alice@example.test', '203.0.113.8'), 'another address has its own budget')
    assert.equal(accountKey('alice@example.test', '2001:db8:1:2::1'), accountKey('alice@example.test', '2001:db8:1:2::ffff'), 'one IPv6 /64 is one client')
  })

  it('exempts the liveness probe and the route\'s own credential only', () => {
    const scraper = { permission: 'admin' as const, orCredential: (headers: { authorization?: string }) => headers.authorization === 'Bearer right' }
    assert.ok(isExempt('/healthz', PUBLIC, {}))
    assert.ok(isExempt('/metrics', scraper, { authorization: 'Bearer right' }))
    assert.ok(!isExempt('/metrics', scraper, { authorization: 'Bearer wrong' }), 'a wrong token is limited')
    assert.ok(!isExempt('/metrics', scraper, {}), 'an admin or a key on /metrics is limited')
    assert.ok(!isExempt('/readyz', PUBLIC, {}), 'readiness touches the database')
    for (const url of ['/api/v1/me', '/healthz/x', undefined]) assert.ok(!isExempt(url, { permission: 'self' }, { authorization: 'Bearer right' }), String(url))
  })
})
