import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql } from 'kysely'
import { keyset, page, withLookahead } from './keyset.ts'

interface Rows { items: { id: string, created_at: Date, owner: string } }
const db = new Kysely<Rows>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new PostgresIntrospector(k),
    createQueryCompiler: () => new PostgresQueryCompiler()
  }
})
const at = new Date('2026-01-02T03:04:05.678Z')

describe('keyset', () => {
  it('orders by (created_at at millisecond precision, id) and, on the first page, filters nothing', () => {
    const { sql: text, parameters } = keyset(db.selectFrom('items').selectAll().where('owner', '=', 'u'), { order: 'desc' }).compile()
    assert.equal(text, 'select * from "items" where "owner" = $1 order by date_trunc(\'milliseconds\', created_at) desc, "id" desc')
    assert.deepEqual(parameters, ['u'])
  })

  it('starts after the cursor row, with the id breaking ties, in either order', () => {
    const desc = keyset(db.selectFrom('items').selectAll(), { order: 'desc', after: { createdAt: at, id: 'b' } }).compile()
    assert.equal(desc.sql, 'select * from "items" where (date_trunc(\'milliseconds\', created_at) < $1 or (date_trunc(\'milliseconds\', created_at) = $2 and "id" < $3)) order by date_trunc(\'milliseconds\', created_at) desc, "id" desc')
    assert.deepEqual(desc.parameters, [at, at, 'b'])
    const asc = keyset(db.selectFrom('items').selectAll(), { order: 'asc', after: { createdAt: at, id: 'b' } }).compile()
    assert.match(asc.sql, /\(date_trunc\('milliseconds', created_at\) > \$1 or \(date_trunc\('milliseconds', created_at\) = \$2 and "id" > \$3\)\) order by date_trunc\('milliseconds', created_at\) asc, "id" asc$/)
  })

  it('compares and orders by the expression given for created_at', () => {
    const { sql: text } = keyset(db.selectFrom('items').selectAll(), { order: 'asc', after: { createdAt: at, id: 'b' }, createdAt: sql<Date>`items.made_at` }).compile()
    assert.equal(text, 'select * from "items" where (items.made_at > $1 or (items.made_at = $2 and "id" > $3)) order by items.made_at asc, "id" asc')
  })
})

describe('page', () => {
  const rows = ['a', 'b', 'c', 'd']
  it('cuts the lookahead row off and names the cursor of the last row kept', () => {
    assert.equal(withLookahead(3), 4)
    assert.deepEqual(page(rows, 3, (last) => `after:${last}`), { items: ['a', 'b', 'c'], nextCursor: 'after:c' })
  })

  it('has no next cursor on the last page, full or not, nor on an empty one', () => {
    assert.deepEqual(page(rows, 4, (last) => last), { items: rows, nextCursor: null })
    assert.deepEqual(page(rows.slice(0, 2), 3, (last) => last), { items: ['a', 'b'], nextCursor: null })
    assert.deepEqual(page([], 3, (last) => last), { items: [], nextCursor: null })
  })
})
