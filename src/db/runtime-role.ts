import { sql } from 'kysely'
import type { Db } from './database.ts'
import { grantStatements, missingPrivilegesMessage, requiredPrivileges, type RequiredPrivilege, type Schemas } from './runtime-privileges.ts'

// Any constant works; it only has to be the same for every Tympan process on one database.
const GRANT_LOCK_KEY = 7_304_222

export class RuntimePrivilegeError extends Error {
  override name = 'RuntimePrivilegeError'
}

/** Who this connection is, and where unqualified names (the migrations' tables) live. */
export async function connectedRole (db: Db): Promise<{ role: string, schema: string }> {
  const { rows } = await sql<{ role: string, schema: string | null }>`SELECT current_user AS role, current_schema() AS schema`.execute(db.kysely)
  const row = rows[0]!
  if (!row.schema) throw new RuntimePrivilegeError(`The database role "${row.role}" has no schema on its search_path it can use (current_schema() is empty): grant it USAGE on the schema Tympan's tables are in`)
  return { role: row.role, schema: row.schema }
}

/** pg-boss's tables as they are (its schema changes with its version); undefined when its schema does not exist. */
export async function queueTables (db: Db, queueSchema: string): Promise<string[] | undefined> {
  const { rows } = await sql<{ name: string | null }>`SELECT c.relname AS name FROM pg_namespace n
    LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p') WHERE n.nspname = ${queueSchema} ORDER BY 1`.execute(db.kysely)
  return rows.length === 0 ? undefined : rows.flatMap((r) => r.name === null ? [] : [r.name])
}

/**
 * The privileges of `requiredPrivileges` this connection's role lacks. Objects are found
 * through the catalogs, which every role reads, so an absent table counts as missing rather
 * than failing the query.
 */
export async function missingPrivileges (db: Db, queueSchema: string): Promise<{ role: string, schemas: Schemas, missing: RequiredPrivilege[] }> {
  const { role, schema } = await connectedRole(db)
  const schemas = { app: schema, queue: queueSchema }
  const required = requiredPrivileges(schemas, await queueTables(db, queueSchema))
  const { rows } = await sql<{ i: number }>`
    SELECT r.i FROM unnest(${required.map((r) => r.kind)}::text[], ${required.map((r) => r.schema)}::text[],
      ${required.map((r) => r.name ?? '')}::text[], ${required.map((r) => r.privilege)}::text[]) WITH ORDINALITY AS r(kind, schema, name, privilege, i)
    WHERE NOT coalesce(CASE r.kind
      WHEN 'schema' THEN (SELECT has_schema_privilege(n.oid, r.privilege) FROM pg_namespace n WHERE n.nspname = r.schema)
      WHEN 'table' THEN (SELECT has_table_privilege(c.oid, r.privilege) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = r.schema AND c.relname = r.name)
      ELSE (SELECT has_sequence_privilege(c.oid, r.privilege) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = r.schema AND c.relname = r.name)
    END, false)
    ORDER BY r.i`.execute(db.kysely)
  return { role, schemas, missing: rows.map((r) => required[Number(r.i) - 1]!) }
}

/** Start-up (PostgreSQL): refuses, naming the role, each missing privilege and its GRANT. */
export async function assertRuntimePrivileges (db: Db, queueSchema: string): Promise<void> {
  const { role, missing } = await missingPrivileges(db, queueSchema)
  if (missing.length > 0) throw new RuntimePrivilegeError(missingPrivilegesMessage(role, missing))
}

/**
 * The owner step's last act: grants `role` the map, in one transaction. A runtime role that
 * is the owner itself is left alone: revoking would take the owner's own rights.
 */
export async function grantRuntimePrivileges (owner: Db, role: string, queueSchema: string): Promise<void> {
  const { role: ownerRole, schema } = await connectedRole(owner)
  if (ownerRole === role) return
  await owner.transactionScript(async ({ exec, query }) => {
    // Nodes that start together would otherwise grant at once, and PostgreSQL fails one of two
    // concurrent GRANTs on a table ("tuple concurrently updated").
    await query('SELECT pg_advisory_xact_lock($1)', [GRANT_LOCK_KEY])
    for (const statement of grantStatements({ app: schema, queue: queueSchema }, role)) await exec(statement)
  })
}

const TABLE_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']

export interface RoleFacts {
  role: string
  superuser: boolean
  createRole: boolean
  createDb: boolean
  /** Schemas (Tympan's, pg-boss's) this role owns. */
  ownedSchemas: string[]
  /** Schemas where it may CREATE (DDL). */
  creatableSchemas: string[]
  /** Tables in those schemas it owns (and so may ALTER or DROP). */
  ownedTables: number
  /** What it holds on each table of Tympan's schema, any of the seven table privileges. */
  held: Array<{ table: string, privileges: string[] }>
  missing: RequiredPrivilege[]
}

/** What `tympan doctor --production` reports about DATABASE_URL's role. */
export async function roleFacts (db: Db, queueSchema: string): Promise<RoleFacts> {
  const { role, schemas, missing } = await missingPrivileges(db, queueSchema)
  const names = [schemas.app, schemas.queue]
  const { rows: [attributes] } = await sql<{ superuser: boolean, createRole: boolean, createDb: boolean }>`
    SELECT rolsuper AS superuser, rolcreaterole AS "createRole", rolcreatedb AS "createDb" FROM pg_roles WHERE rolname = current_user`.execute(db.kysely)
  const { rows: schemaRows } = await sql<{ name: string, owned: boolean, creatable: boolean }>`
    SELECT nspname AS name, pg_has_role(nspowner, 'USAGE') AS owned, has_schema_privilege(oid, 'CREATE') AS creatable
    FROM pg_namespace WHERE nspname = ANY(${names}::text[]) ORDER BY 1`.execute(db.kysely)
  const { rows: [tables] } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY(${names}::text[]) AND c.relkind IN ('r', 'p') AND pg_has_role(c.relowner, 'USAGE')`.execute(db.kysely)
  const { rows: held } = await sql<{ table: string, privileges: string[] }>`
    SELECT c.relname AS table, array_remove(ARRAY[${sql.join(TABLE_PRIVILEGES.map((p) => sql`CASE WHEN has_table_privilege(c.oid, ${p}) THEN ${p} END`))}]::text[], NULL) AS privileges
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ${schemas.app} AND c.relkind IN ('r', 'p') ORDER BY 1`.execute(db.kysely)
  return {
    role,
    held,
    superuser: attributes?.superuser ?? false,
    createRole: attributes?.createRole ?? false,
    createDb: attributes?.createDb ?? false,
    ownedSchemas: schemaRows.filter((r) => r.owned).map((r) => r.name),
    creatableSchemas: schemaRows.filter((r) => r.creatable).map((r) => r.name),
    ownedTables: tables?.n ?? 0,
    missing
  }
}
