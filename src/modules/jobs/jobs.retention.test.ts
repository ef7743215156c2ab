import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { AuditRecord } from '../../audit/audit.repository.ts'
import type { AudioFile, Job } from '../../db/schema.ts'
import { jobsRetention, type JobsRetentionDeps } from './jobs.retention.ts'

const JOB_A = '00000000-0000-4000-8000-00000000000a'
const JOB_B = '00000000-0000-4000-8000-00000000000b'

function fakes (options: { deleteAfterProcessing?: boolean, inUse?: boolean, file?: Partial<AudioFile>, jobs?: Partial<Job>[], expired?: number, staleWork?: string[] } = {}) {
  const log: string[] = []
  const audits: AuditRecord[] = []
  let expiredLeft = options.expired ?? 0
  let nextExpired = 0
  const deps: JobsRetentionDeps = {
    deleteAfterProcessing: options.deleteAfterProcessing ?? true,
    jobs: {
      findById: async (id) => options.jobs?.find((j) => j.id === id) as Job | undefined,
      fileInUse: async () => options.inUse ?? false,
      expired: async (_now, limit) => {
        const n = Math.min(limit, expiredLeft)
        expiredLeft -= n
        return Array.from({ length: n }, () => ({ id: `job-${nextExpired++}`, owner_id: 'u1' }) as Job)
      }
    },
    files: {
      findById: async (id) => options.file === undefined ? undefined : { id, owner_id: 'u1', ...options.file } as AudioFile,
      delete: async (id) => { log.push(`row ${id}`); return true }
    },
    storage: {
      delete: async (id) => { log.push(`bytes ${id}`) }
    },
    workspace: {
      stale: async () => (options.staleWork ?? []).map((name) => ({ name, path: `/work/jobs/${name}` })),
      remove: async (entry) => { log.push(`rm ${entry}`) }
    },
    service: { remove: async (id) => { log.push(`remove ${id}`) } },
    audit: { record: async (record) => { audits.push(record) } }
  }
  return { log, audits, retention: jobsRetention(deps) }
}

describe('jobsRetention.fileProcessed', () => {
  it('deletes the row, then the bytes, and audits it', async () => {
    const { log, audits, retention } = fakes({ file: {} })
    await retention.fileProcessed('f1', JOB_A)
    assert.deepEqual(log, ['row f1', 'bytes f1'])
    assert.deepEqual(audits, [{ action: 'file.deleted_after_processing', status: 200, detail: { fileId: 'f1', ownerId: 'u1' } }])
  })

  it('keeps the file when DELETE_AFTER_PROCESSING is off', async () => {
    const { log, audits, retention } = fakes({ deleteAfterProcessing: false, file: {} })
    await retention.fileProcessed('f1', JOB_A)
    assert.deepEqual([log, audits], [[], []])
  })

  it('keeps the file while another unfinished job needs it', async () => {
    const { log, retention } = fakes({ inUse: true, file: {} })
    await retention.fileProcessed('f1', JOB_A)
    assert.deepEqual(log, [])
  })

  it('does nothing for a file already gone', async () => {
    const { log, audits, retention } = fakes()
    await retention.fileProcessed('f1', JOB_A)
    assert.deepEqual([log, audits], [[], []])
  })
})

describe('jobsRetention.sweep', () => {
  it('removes stale attempt directories except a running job\'s', async () => {
    const { log, retention } = fakes({
      jobs: [{ id: JOB_A, status: 'running' }, { id: JOB_B, status: 'succeeded' }],
      staleWork: [`${JOB_A}-1`, `${JOB_B}-2`, 'not-a-job', '00000000-0000-4000-8000-0000000000ff-1']
    })
    assert.equal(await retention.sweep(new Date()), 0)
    assert.deepEqual(log, [`rm /work/jobs/${JOB_B}-2`, 'rm /work/jobs/not-a-job', 'rm /work/jobs/00000000-0000-4000-8000-0000000000ff-1'])
  })

  it('removes expired jobs in batches until none is left, auditing each', async () => {
    const { log, audits, retention } = fakes({ expired: 150 })
    assert.equal(await retention.sweep(new Date()), 150)
    assert.equal(log.length, 150)
    assert.equal(log[149], 'remove job-149')
    assert.deepEqual(audits[0], { action: 'job.expired', status: 200, detail: { jobId: 'job-0', ownerId: 'u1' } })
    assert.equal(audits.length, 150)
  })
})
