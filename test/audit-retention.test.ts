import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { sql } from 'kysely'
import { backends } from './helpers/db.ts'
import { startApp, type TestApp } from './helpers/app.ts'

const DAY = 86_400_000

// AUDIT_RETENTION_DAYS through the app's own retention sweep (the one `tympan serve` runs every
// SWEEP_INTERVAL_MINUTES and `tympan admin sweep` runs on demand), on both backends.
for (const backend of await backends()) {
  describe(`audit retention (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    const now = new Date()
    before(async () => { t = await startApp(backend.name, { AUDIT_RETENTION_DAYS: '30' }) })
    after(() => t?.close())

    const insert = async (count: number, ageDays: number, action: string) => {
      await t.testDb.db.kysely.insertInto('audit_log')
        .values(Array.from({ length: count }, () => ({ action, status: 200, detail: '{}', at: new Date(now.getTime() - ageDays * DAY) })))
        .execute()
    }
    const count = async (action: string) => Number((await t.testDb.db.kysely.selectFrom('audit_log').select(sql<string>`count(*)`.as('n')).where('action', '=', action).executeTakeFirstOrThrow()).n)

    it('deletes rows older than AUDIT_RETENTION_DAYS in batches, keeps younger ones, and audits the sweep after it', async () => {
      // More than one batch of 1000, so the loop has to come back for the rest.
      await insert(2500, 31, 'test.old')
      await insert(3, 29, 'test.recent')
      const report = await t.app.container.retention.sweep(now)
      assert.equal(report.expiredAuditRows, 2500)
      assert.equal(await count('test.old'), 0)
      assert.equal(await count('test.recent'), 3)
      const swept = await t.testDb.db.kysely.selectFrom('audit_log').selectAll().where('action', '=', 'audit.retention_swept').execute()
      assert.equal(swept.length, 1)
      const detail = (typeof swept[0]!.detail === 'string' ? JSON.parse(swept[0]!.detail) : swept[0]!.detail) as Record<string, unknown>
      assert.deepEqual(detail, { deleted: 2500, before: new Date(now.getTime() - 30 * DAY).toISOString(), retentionDays: 30 })
    })

    it('a later sweep with nothing old enough deletes nothing and writes no row; its own record survives the next sweeps', async () => {
      const report = await t.app.container.retention.sweep(now)
      assert.equal(report.expiredAuditRows, 0)
      assert.equal(await count('audit.retention_swept'), 1)
      assert.equal(await count('test.recent'), 3)
    })
  })
}

describe('audit retention off (AUDIT_RETENTION_DAYS=0, the default)', () => {
  let t: TestApp
  before(async () => { t = await startApp('pglite') })
  after(() => t?.close())

  it('keeps rows of any age', async () => {
    await t.testDb.db.kysely.insertInto('audit_log').values({ action: 'test.ancient', status: 200, detail: '{}', at: new Date(Date.now() - 3650 * DAY) }).execute()
    assert.equal((await t.app.container.retention.sweep()).expiredAuditRows, 0)
    const rows = await t.testDb.db.kysely.selectFrom('audit_log').select('id').where('action', '=', 'test.ancient').execute()
    assert.equal(rows.length, 1)
  })
})
