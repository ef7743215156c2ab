import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { FastifyRequest } from 'fastify'
import pino from 'pino'
import { violationAuditor } from './rate-limit.audit.ts'

describe('violationAuditor', () => {
  function setup () {
    let clock = Date.UTC(2025, 0, 1, 12, 0, 5)
    const rows: { action: string, status: number, detail: Record<string, unknown> }[] = []
    const lines: Record<string, unknown>[] = []
    const log = pino({ level: 'info' }, { write: (line: string) => { lines.push(JSON.parse(line)) } })
    const auditor = violationAuditor({
      audit: async (_request, action, status, detail = {}) => { rows.push({ action, status, detail }) },
      log,
      now: () => clock
    })
    const request = {} as FastifyRequest
    return { rows, lines, auditor, request, advance: (ms: number) => { clock += ms } }
  }

  const violation = { limit: 'requests' as const, key: 'api_key:abc', detail: { keyKind: 'api_key', tier: 'free' } }

  it('writes one row per key and limit in a minute, and logs the count of the rest', async () => {
    const { rows, lines, auditor, request, advance } = setup()
    for (let i = 0; i < 50; i++) await auditor.record(request, violation)
    assert.equal(rows.length, 1)
    assert.deepEqual(rows[0], { action: 'rate_limit.exceeded', status: 429, detail: { limit: 'requests', keyKind: 'api_key', tier: 'free' } })
    assert.equal(lines.length, 0, 'the count is logged once the minute is over')

    advance(60_000)
    await auditor.record(request, violation)
    assert.equal(rows.length, 2, 'a new minute, a new row')
    assert.equal(lines.length, 1)
    assert.equal(lines[0]!.violations, 49)
    assert.equal(lines[0]!.key, 'api_key:abc')
  })

  it('keeps keys and limits apart', async () => {
    const { rows, auditor, request } = setup()
    await auditor.record(request, violation)
    await auditor.record(request, { ...violation, key: 'api_key:other' })
    await auditor.record(request, { ...violation, limit: 'uploads' })
    await auditor.record(request, violation)
    assert.equal(rows.length, 3)
  })

  it('logs what is pending when flushed (server shutdown), and forgets it', async () => {
    const { lines, auditor, request } = setup()
    await auditor.record(request, violation)
    await auditor.record(request, violation)
    await auditor.record(request, violation)
    auditor.flush()
    assert.equal(lines.length, 1)
    assert.equal(lines[0]!.violations, 2)
    auditor.flush()
    assert.equal(lines.length, 1)
  })
})
