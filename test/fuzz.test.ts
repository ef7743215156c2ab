import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { judge, makeFixtures, uploadMultipart, uploadTus, type FuzzFixture } from '../bench/fuzz/intake.ts'
import { MUTATIONS, mutate } from '../bench/fuzz/mutate.ts'
import { startApp, type TestApp } from './helpers/app.ts'

// A fixed-seed sample of bench/fuzz (which sends 10,000): damaged files in every allowed
// format over real HTTP, multipart and tus. Every answer is an acceptance or a 4xx problem
// with a title and a detail; never a 5xx, never a dropped connection.
const FILES = 108
const SEED = 14

describe('malformed audio (fixed-seed fuzz sample)', () => {
  let t: TestApp
  let base: string
  let key: string
  let fixtures: FuzzFixture[]
  const dir = path.join(os.tmpdir(), `tympan-fuzz-test-${process.pid}`)

  before(async () => {
    fixtures = makeFixtures(dir, 0.5)
    fs.rmSync(dir, { recursive: true, force: true })
    t = await startApp('pglite')
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
    key = await t.apiKey(await t.login((await t.createUser()).email), ['files:read', 'files:write'])
  })
  after(async () => { await t?.close() })

  it(`answers ${FILES} mutated files with an acceptance or a clear 4xx problem`, async () => {
    const defects: string[] = []
    const outcomes = { accepted: 0, refused: 0 }
    const kinds = new Set<string>()
    let next = 0
    const lane = async () => {
      while (next < FILES) {
        const index = next++
        const fixture = fixtures[index % fixtures.length]!
        // Each mutation first once on each fixture (108 = 12 fixtures × 9 mutations), then seeded.
        const { bytes, description, kind } = mutate(fixture.bytes, SEED * 1000 + index, MUTATIONS[Math.floor(index / fixtures.length) % MUTATIONS.length])
        kinds.add(kind)
        const answer = await (index % 6 === 0 ? uploadTus : uploadMultipart)(base, key, fixture.name, bytes)
        const verdict = judge(answer)
        if (verdict.outcome === 'defect') defects.push(`${fixture.label}, ${description}: ${verdict.reason}`)
        else outcomes[verdict.outcome]++
      }
    }
    await Promise.all([lane(), lane(), lane()])
    assert.deepEqual(defects, [])
    assert.equal(kinds.size, MUTATIONS.length)
    // Both answers occur: the sample is neither all garbage nor all harmless.
    assert.ok(outcomes.accepted > 0 && outcomes.refused > 0, JSON.stringify(outcomes))

    // Nothing of a refused file stays: one row per acceptance, no staged or resumable bytes, no open upload.
    const db = t.testDb.db.kysely
    assert.equal((await db.selectFrom('files').select('id').execute()).length, outcomes.accepted)
    assert.deepEqual(await db.selectFrom('resumable_uploads').select('id').execute(), [])
    const leftovers = (sub: string) => {
      const where = path.join(t.config.dataDir, 'files', sub)
      assert.ok(fs.existsSync(where), `${where} exists`)
      return fs.readdirSync(where, { recursive: true }).filter((entry) => fs.statSync(path.join(where, String(entry))).isFile())
    }
    assert.deepEqual(leftovers('staging'), [])
    assert.deepEqual(leftovers('resumable'), [])
  })
})
