import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { sql } from 'kysely'
import type { User } from '../src/db/schema.ts'
import { backends } from './helpers/db.ts'
import { startApp, type TestApp } from './helpers/app.ts'

// Cursors hold milliseconds, the database microseconds: rows created within one millisecond
// must each come back exactly once, page after page.
for (const backend of await backends()) {
  describe(`keyset pages over rows of one millisecond (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    let owner: User
    let key: string
    const ids: string[] = []
    before(async () => {
      t = await startApp(backend.name)
      owner = await t.createUser('member')
      key = await t.apiKey(await t.login(owner.email), ['files:read', 'jobs:read'])
      const db = t.testDb.db.kysely
      for (const micro of ['100', '200', '300', '400']) {
        const id = randomUUID()
        ids.push(id)
        await db.insertInto('files').values({
          id, owner_id: owner.id, name: `${micro}.wav`, format: 'wav', content_type: 'audio/wav', size: 1, sha256: '0'.repeat(64),
          duration_sec: 1, sample_rate: 8000, channels: 1, codec: 'pcm_s16le', source: 'upload', source_url: null,
          created_at: sql<Date>`${`2026-06-01T10:00:00.000${micro}Z`}::timestamptz`, expires_at: new Date(Date.now() + 3_600_000)
        }).execute()
        await db.insertInto('jobs').values({ id: randomUUID(), owner_id: owner.id, type: 'analyze', file_id: id, params: JSON.stringify({}), created_at: sql<Date>`${`2026-06-01T10:00:00.000${micro}Z`}::timestamptz` }).execute()
      }
    })
    after(() => t?.close())

    const walk = async (url: string): Promise<string[]> => {
      const seen: string[] = []
      let cursor: string | null = null
      for (let pages = 0; pages < 10; pages++) {
        const res: Awaited<ReturnType<TestApp['app']['inject']>> = await t.app.inject({ url: `${url}?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, headers: { 'x-api-key': key } })
        assert.equal(res.statusCode, 200, res.body)
        const body = res.json() as { items: { id: string }[], nextCursor: string | null }
        seen.push(...body.items.map((i) => i.id))
        cursor = body.nextCursor
        if (!cursor) break
      }
      return seen
    }

    it('lists every file once, one per page', async () => {
      const seen = await walk('/api/v1/files')
      assert.equal(seen.length, 4)
      assert.deepEqual(new Set(seen), new Set(ids))
    })

    it('lists every job once, one per page', async () => {
      const seen = await walk('/api/v1/jobs')
      assert.equal(seen.length, 4)
      assert.equal(new Set(seen).size, 4)
    })
  })
}
