import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { AuditRecord } from './audit.repository.ts'
import { auditRetention } from './audit-retention.ts'

const now = new Date('2026-12-01T00:00:00Z')

function fakes (rows: number) {
  const steps: string[] = []
  let left = rows
  return {
    steps,
    repository: {
      deleteOlderThan: async (cutoff: Date, limit: number) => {
        const count = Math.min(left, limit)
        left -= count
        steps.push(`delete ${count} before ${cutoff.toISOString()}`)
        return count
      }
    },
    audit: { record: async (record: AuditRecord) => { steps.push(`audit ${JSON.stringify(record)}`) } }
  }
}

describe('auditRetention', () => {
  it('deletes in bounded batches until one comes back short, then records the sweep with the count and the cut-off', async () => {
    const f = fakes(5)
    assert.equal(await auditRetention({ ...f, retentionDays: 30, batch: 2 }).sweep(now), 5)
    assert.deepEqual(f.steps, [
      'delete 2 before 2026-11-01T00:00:00.000Z',
      'delete 2 before 2026-11-01T00:00:00.000Z',
      'delete 1 before 2026-11-01T00:00:00.000Z',
      `audit ${JSON.stringify({ action: 'audit.retention_swept', status: 200, detail: { deleted: 5, before: '2026-11-01T00:00:00.000Z', retentionDays: 30 } })}`
    ])
  })

  it('records nothing when nothing was old enough', async () => {
    const f = fakes(0)
    assert.equal(await auditRetention({ ...f, retentionDays: 30 }).sweep(now), 0)
    assert.deepEqual(f.steps, ['delete 0 before 2026-11-01T00:00:00.000Z'])
  })

  it('with AUDIT_RETENTION_DAYS=0 keeps every row and touches nothing', async () => {
    const f = fakes(10)
    assert.equal(await auditRetention({ ...f, retentionDays: 0 }).sweep(now), 0)
    assert.deepEqual(f.steps, [])
  })
})
