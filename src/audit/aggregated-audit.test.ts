import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import pino from 'pino'
import type { AuditRecord } from './audit.repository.ts'
import { aggregatedAuditor } from './aggregated-audit.ts'

describe('aggregatedAuditor', () => {
  function setup (maxTracked?: number) {
    let clock = Date.UTC(2025, 0, 1, 12, 0, 5)
    const rows: AuditRecord[] = []
    const lines: Record<string, unknown>[] = []
    const log = pino({ level: 'info' }, { write: (line: string) => { lines.push(JSON.parse(line)) } })
    const auditor = aggregatedAuditor({
      write: async (record) => { rows.push(record) },
      log,
      now: () => clock,
      ...(maxTracked !== undefined ? { maxTracked } : {})
    })
    return { rows, lines, auditor, advance: (ms: number) => { clock += ms } }
  }

  const key = { action: 'rate_limit.exceeded', subject: 'api_key:abc', reason: 'requests' }
  const record = (fields: Partial<AuditRecord> = {}): AuditRecord => ({
    requestId: 'req-1', ip: '192.0.2.1', method: 'GET', route: '/api/v1/me', actorUserId: 'u1', actorKeyId: 'abc',
    action: 'rate_limit.exceeded', status: 429, detail: { limit: 'requests', keyKind: 'api_key', tier: 'free' }, ...fields
  })

  it('writes one row per key in a minute, then logs the count of the rest and writes it as a summary row', async () => {
    const { rows, lines, auditor, advance } = setup()
    for (let i = 0; i < 50; i++) await auditor.record(key, record({ requestId: `req-${i}` }))
    assert.equal(rows.length, 1)
    assert.deepEqual(rows[0], record({ requestId: 'req-0' }))
    assert.equal(lines.length, 0, 'the count is logged once the minute is over')

    advance(60_000)
    await auditor.record(key, record({ requestId: 'req-next' }))
    await auditor.flush()
    assert.equal(lines.length, 1)
    assert.equal(lines[0]!.suppressed, 49)
    assert.equal(lines[0]!.subject, 'api_key:abc')
    assert.equal(lines[0]!.action, 'rate_limit.exceeded')
    const summary = rows.find((row) => row.action === 'rate_limit.exceeded.suppressed')
    assert.deepEqual(summary, {
      ...record(),
      requestId: null,
      action: 'rate_limit.exceeded.suppressed',
      detail: {
        limit: 'requests', keyKind: 'api_key', tier: 'free',
        subject: 'api_key:abc', suppressed: 49, from: '2025-01-01T12:00:00.000Z', to: '2025-01-01T12:01:00.000Z'
      }
    })
    const written = rows.filter((row) => row.action === 'rate_limit.exceeded').map((row) => row.requestId)
    assert.deepEqual(written, ['req-0', 'req-next'], 'a new minute, a new row')
  })

  it('keeps actions, subjects and reasons apart', async () => {
    const { rows, auditor } = setup()
    await auditor.record(key, record())
    await auditor.record({ ...key, subject: 'api_key:other' }, record())
    await auditor.record({ ...key, reason: 'uploads' }, record())
    await auditor.record({ ...key, action: 'authz.denied' }, record())
    await auditor.record(key, record())
    assert.equal(rows.length, 4)
  })

  it('writes no summary for a key refused once', async () => {
    const { rows, lines, auditor } = setup()
    await auditor.record(key, record())
    await auditor.flush()
    assert.equal(rows.length, 1)
    assert.equal(lines.length, 0)
  })

  it('writes what is pending when flushed (server shutdown), and forgets it', async () => {
    const { rows, lines, auditor } = setup()
    for (let i = 0; i < 3; i++) await auditor.record(key, record())
    await auditor.flush()
    assert.equal(lines.length, 1)
    assert.equal(lines[0]!.suppressed, 2)
    assert.equal(rows.filter((row) => row.action.endsWith('.suppressed')).length, 1)
    await auditor.flush()
    assert.equal(lines.length, 1)
    assert.equal(rows.length, 2)
  })

  it('tracks a bounded number of keys: a flood of distinct addresses is counted per action, not stored or written', async () => {
    const { rows, lines, auditor } = setup(100)
    const denied = (ip: string) => auditor.record({ action: 'authz.denied', subject: `ip:${ip}`, reason: 'Missing permission admin' },
      record({ action: 'authz.denied', status: 403, ip, actorUserId: null, actorKeyId: null, detail: { reason: 'Missing permission admin' } }))
    for (let i = 0; i < 100_000; i++) await denied(`198.51.${i >> 8 & 255}.${i & 255}-${i}`)
    assert.equal(auditor.size, 101, 'the cap, plus one overflow counter per action')
    assert.equal(rows.length, 100, 'one row per tracked subject, none for the overflow')
    await auditor.flush()
    const summary = rows.at(-1)!
    assert.equal(summary.action, 'authz.denied.suppressed')
    assert.equal(summary.ip, null)
    assert.deepEqual({ subject: summary.detail?.subject, suppressed: summary.detail?.suppressed }, { subject: '*', suppressed: 99_900 })
    assert.equal(lines.at(-1)!.suppressed, 99_900)
    assert.equal(auditor.size, 0, 'a new window starts empty')
  })

  it('closes a window on its timer too, so a flood that stops is still summarised', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] })
    const { rows, auditor, advance } = setup()
    for (let i = 0; i < 5; i++) await auditor.record(key, record())
    advance(60_000)
    t.mock.timers.tick(60_000)
    await new Promise(setImmediate)
    assert.equal(rows.find((row) => row.action.endsWith('.suppressed'))?.detail?.suppressed, 4, 'written with no further refusal')
    await auditor.flush()
  })
})
