import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import pino from 'pino'
import { HttpProblem } from '../http/problem.ts'
import type { AuditQuery, AuditRecord, AuditRepository } from './audit.repository.ts'
import { auditService, escapeControl } from './audit.service.ts'

describe('escapeControl', () => {
  const cases: [string, string, string][] = [
    ['newline', 'a\nb', 'a\\u000ab'],
    ['carriage return', 'a\rb', 'a\\u000db'],
    ['NUL', 'a\u0000b', 'a\\u0000b'],
    ['escape (ANSI sequences)', '\u001b[31mred', '\\u001b[31mred'],
    ['DEL and C1 controls', '\u007f\u0085', '\\u007f\\u0085'],
    ['right-to-left override', 'user\u202egnp.exe', 'user\\u202egnp.exe'],
    ['left-to-right isolate', 'a\u2066b\u2069', 'a\\u2066b\\u2069'],
    ['bidi marks', '\u200e\u200f', '\\u200e\\u200f']
  ]
  for (const [name, input, expected] of cases) {
    it(`escapes ${name}`, () => {
      assert.equal(escapeControl(input), expected)
    })
  }

  it('leaves ordinary text untouched', () => {
    const text = 'Zoë <admin@example.test> — 日本語 🎧 "quoted" \\ back'
    assert.equal(escapeControl(text), text)
  })

  it('cannot forge a second log line', () => {
    const forged = escapeControl('bob@example.test\n{"action":"auth.login.success"}')
    assert.equal(forged.split('\n').length, 1)
  })
})

describe('auditService.record', () => {
  const capture = () => {
    const rows: AuditRecord[] = []
    const repository = { insert: async (record: AuditRecord) => { rows.push(record) } } as unknown as AuditRepository
    return { rows, service: auditService(repository, pino({ level: 'silent' })) }
  }

  it('escapes control characters in the route and in detail keys and values, however deep', async () => {
    const { rows, service } = capture()
    await service.record({
      action: 'auth.login.failure',
      route: '/api/v1/x\r\ny',
      detail: { email: 'evil\n@example.test', 'k\u202e': ['a\u0000', { deep: '\u2066x' }], count: 3, flag: true, none: null }
    })
    const row = rows[0]!
    assert.equal(row.route, '/api/v1/x\\u000d\\u000ay')
    assert.deepEqual(row.detail, {
      email: 'evil\\u000a@example.test',
      'k\\u202e': ['a\\u0000', { deep: '\\u2066x' }],
      count: 3,
      flag: true,
      none: null
    })
  })

  it('truncates long strings in the detail', async () => {
    const { rows, service } = capture()
    await service.record({ action: 'test', detail: { userAgent: 'A'.repeat(10_000), short: 'B'.repeat(512) } })
    const detail = rows[0]!.detail as { userAgent: string, short: string }
    assert.ok(detail.userAgent.length <= 513, `kept ${detail.userAgent.length} characters`)
    assert.ok(detail.userAgent.startsWith('A'.repeat(512)))
    assert.ok(detail.userAgent.endsWith('…'))
    assert.equal(detail.short, 'B'.repeat(512))
  })

  it('never throws when the write fails, and logs it', async () => {
    const lines: string[] = []
    const log = pino({ level: 'error' }, { write: (line: string) => { lines.push(line) } })
    const repository = { insert: async () => { throw new Error('database gone') } } as unknown as AuditRepository
    await auditService(repository, log).record({ action: 'auth.logout' })
    assert.equal(lines.length, 1)
    assert.match(lines[0]!, /audit write failed/)
    assert.match(lines[0]!, /auth\.logout/)
  })
})

describe('auditService.page', () => {
  const entry = (id: number) => ({
    id, at: new Date('2026-01-01T00:00:00Z'), request_id: 'r', actor_user_id: 'u1', actor_key_id: null, ip: '192.0.2.1',
    method: 'POST', route: '/x', action: 'auth.logout', status: 204, detail: { a: 1 }
  })
  const paging = (total: number) => {
    const queries: AuditQuery[] = []
    const repository = {
      list: async (query: AuditQuery) => { queries.push(query); return Array.from({ length: Math.min(total, query.limit) }, (_, i) => entry(100 - i)) }
    } as unknown as AuditRepository
    return { queries, service: auditService(repository, pino({ level: 'silent' })) }
  }

  it('reads one row past the page to know whether another follows', async () => {
    const { queries, service } = paging(10)
    const page = await service.page({ action: 'auth.*', limit: 3 })
    assert.deepEqual(queries, [{ action: 'auth.*', limit: 4 }])
    assert.deepEqual(page.items.map((a) => a.id), [100, 99, 98])
    assert.equal(page.nextCursor, 98)
    assert.deepEqual(page.items[0], {
      id: 100, at: '2026-01-01T00:00:00.000Z', requestId: 'r', actorUserId: 'u1', actorKeyId: null, ip: '192.0.2.1',
      method: 'POST', route: '/x', action: 'auth.logout', status: 204, detail: { a: 1 }
    })
  })

  it('has no next cursor on the last page', async () => {
    assert.equal((await paging(2).service.page({ limit: 3 })).nextCursor, null)
  })

  it('refuses a time range that ends before it starts', async () => {
    const { queries, service } = paging(1)
    const at = new Date('2026-01-01T00:00:00Z')
    await assert.rejects(service.page({ from: at, to: at, limit: 3 }), (error: unknown) => error instanceof HttpProblem && error.status === 422 && error.message === 'from must be before to')
    assert.deepEqual(queries, [])
  })
})
