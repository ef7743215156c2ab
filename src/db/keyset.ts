import { sql, type Expression, type SelectQueryBuilder } from 'kysely'

/** A row's place in a (created_at, id) keyset: what a cursor holds (http/cursor.ts encodes it). */
export interface KeysetPosition {
  createdAt: Date
  id: string
}

export interface KeysetOptions {
  order: 'asc' | 'desc'
  /** The last row of the previous page; the page starts after it. */
  after?: KeysetPosition | undefined
  /** What stands for created_at, in the where and the order alike (default: CREATED_MS). */
  createdAt?: Expression<Date>
}

/**
 * A cursor holds a JS Date (milliseconds) while PostgreSQL keeps microseconds: compared to the
 * raw column, a row created in the same millisecond as a page's last row would be skipped
 * (descending) or repeated (ascending). Comparing and ordering at millisecond precision, with
 * the id breaking the tie, keeps every row exactly once.
 */
export const CREATED_MS = sql<Date>`date_trunc('milliseconds', created_at)`

/**
 * Keyset pagination over (created_at, id): rows after `after` in `order`, ordered so. The id
 * breaks ties between rows created at the same instant, so no row is skipped or repeated.
 */
export function keyset<DB, TB extends keyof DB, O> (query: SelectQueryBuilder<DB, TB, O>, options: KeysetOptions): SelectQueryBuilder<DB, TB, O> {
  const createdAt = options.createdAt ?? CREATED_MS
  const id = sql.ref<string>('id')
  const { after, order } = options
  if (after) {
    const beyond = order === 'desc' ? sql.raw('<') : sql.raw('>')
    query = query.where(sql<boolean>`(${createdAt} ${beyond} ${after.createdAt} or (${createdAt} = ${after.createdAt} and ${id} ${beyond} ${after.id}))`)
  }
  return query.orderBy(createdAt, order).orderBy(id, order)
}

/** Repositories are asked for one row more than a page: its presence says there is another page. */
export const withLookahead = (limit: number) => limit + 1

/** The page of `rows` (fetched with `withLookahead(limit)`), and the cursor of its last row when more follow. */
export function page<T, C> (rows: readonly T[], limit: number, cursorOf: (last: T) => C): { items: T[], nextCursor: C | null } {
  const items = rows.slice(0, limit)
  const last = items.at(-1)
  return { items, nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null }
}
