import type { PGlite, Transaction } from '@electric-sql/pglite'
import {
  PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler,
  type CompiledQuery, type DatabaseConnection, type Dialect, type Driver, type Kysely, type QueryResult
} from 'kysely'

/**
 * Kysely dialect for PGlite. Written here because the published dialects pin older PGlite
 * majors. PGlite is one connection: a Kysely transaction is mapped onto
 * `pglite.transaction()`, which holds PGlite's exclusive lock, so queries from elsewhere in
 * the process (other requests, the job queue) wait instead of landing inside it.
 */
export class PGliteDialect implements Dialect {
  readonly #pg: PGlite
  constructor (pg: PGlite) { this.#pg = pg }
  createAdapter () { return new PostgresAdapter() }
  createDriver (): Driver { return new PGliteDriver(this.#pg) }
  createIntrospector (db: Kysely<unknown>) { return new PostgresIntrospector(db) }
  createQueryCompiler () { return new PostgresQueryCompiler() }
}

class RollbackSignal extends Error {}

class PGliteConnection implements DatabaseConnection {
  readonly #pg: PGlite
  #tx: Transaction | undefined
  #finish: { commit: () => void, rollback: () => void } | undefined
  #done: Promise<unknown> | undefined

  constructor (pg: PGlite) { this.#pg = pg }

  async executeQuery<R> (query: CompiledQuery): Promise<QueryResult<R>> {
    const target = this.#tx ?? this.#pg
    const result = await target.query<R>(query.sql, query.parameters as unknown[])
    const affected = result.affectedRows
    return {
      rows: result.rows,
      ...(affected !== undefined ? { numAffectedRows: BigInt(affected) } : {})
    }
  }

  // eslint-disable-next-line require-yield
  async * streamQuery<R> (): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('PGlite dialect does not stream results')
  }

  begin (): Promise<void> {
    return new Promise((ready, fail) => {
      this.#done = this.#pg.transaction(async (tx) => {
        this.#tx = tx
        ready()
        await new Promise<void>((resolve, reject) => {
          this.#finish = { commit: resolve, rollback: () => reject(new RollbackSignal()) }
        })
      }).catch((error: unknown) => {
        if (!(error instanceof RollbackSignal)) throw error
      })
      this.#done.catch(fail)
    })
  }

  async end (how: 'commit' | 'rollback'): Promise<void> {
    const finish = this.#finish
    this.#finish = undefined
    finish?.[how]()
    try { await this.#done } finally {
      this.#tx = undefined
      this.#done = undefined
    }
  }
}

class PGliteDriver implements Driver {
  readonly #pg: PGlite
  constructor (pg: PGlite) { this.#pg = pg }
  async init () {}
  async acquireConnection () { return new PGliteConnection(this.#pg) }
  async beginTransaction (connection: DatabaseConnection) { await (connection as PGliteConnection).begin() }
  async commitTransaction (connection: DatabaseConnection) { await (connection as PGliteConnection).end('commit') }
  async rollbackTransaction (connection: DatabaseConnection) { await (connection as PGliteConnection).end('rollback') }
  async releaseConnection () {}
  async destroy () { if (!this.#pg.closed) await this.#pg.close() }
}

