import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { AuditRecord } from '../../audit/audit.repository.ts'
import type { AudioFile } from '../../db/schema.ts'
import { retentionSweeper } from './retention.ts'

describe('retentionSweeper', () => {
  it('deletes expired files row first, discards stale staged files and incomplete object writes, then asks resumable uploads and jobs for their share', async () => {
    const steps: string[] = []
    const audits: AuditRecord[] = []
    const now = new Date('2026-01-10T00:00:00Z')
    const expired = { id: 'f1', owner_id: 'u1', expires_at: new Date('2026-01-09T00:00:00Z') } as AudioFile
    const sweeper = retentionSweeper({
      files: {
        expired: async () => [expired, { ...expired, id: 'f2' }],
        // f2 gained a job since it was listed: it stays.
        deleteExpired: async (id) => { steps.push(`row ${id}`); return id === 'f1' ? expired : undefined }
      },
      storage: {
        delete: async (id) => { steps.push(`bytes ${id}`) },
        sweepIncomplete: async () => { steps.push('incomplete'); return 1 }
      },
      workspace: {
        stale: async () => [{ name: 'a.part', path: '/staging/a.part' }],
        remove: async (file) => { steps.push(`discard ${file}`) }
      },
      audit: { record: async (record) => { audits.push(record) } },
      resumable: { sweep: async (at) => { steps.push(`resumable ${at.toISOString()}`); return 2 } },
      jobs: { sweep: async (at) => { steps.push(`jobs ${at.toISOString()}`); return 3 } },
      translationLogs: { sweep: async (at) => { steps.push(`translation logs ${at.toISOString()}`); return 4 } },
      auditLog: { sweep: async (at) => { steps.push(`audit log ${at.toISOString()}`); return 6 } },
      orphans: { collect: async () => { steps.push('orphans'); return 5 } },
      log: { info: () => {} }
    })
    assert.deepEqual(await sweeper.sweep(now), { expiredFiles: 1, staleStaged: 2, expiredResumable: 2, expiredJobs: 3, expiredTranslationLogs: 4, expiredAuditRows: 6, orphanObjects: 5 })
    assert.deepEqual(steps, ['row f1', 'bytes f1', 'row f2', 'discard /staging/a.part', 'incomplete', 'resumable 2026-01-10T00:00:00.000Z', 'jobs 2026-01-10T00:00:00.000Z', 'translation logs 2026-01-10T00:00:00.000Z', 'audit log 2026-01-10T00:00:00.000Z', 'orphans'])
    assert.deepEqual(audits, [{ action: 'file.expired', status: 200, detail: { fileId: 'f1', ownerId: 'u1', expiresAt: '2026-01-09T00:00:00.000Z' } }])
  })
})
