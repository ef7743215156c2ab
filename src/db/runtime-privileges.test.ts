import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { listMigrations } from './migrator.ts'
import { grantFor, grantStatements, missingPrivilegesMessage, requiredPrivileges, RUNTIME_SEQUENCES, RUNTIME_TABLE_PRIVILEGES } from './runtime-privileges.ts'
import { excessPrivileges, roleChecks } from './role-findings.ts'
import type { RoleFacts } from './runtime-role.ts'

const scripts = listMigrations().map((m) => m.script).join('\n')
// schema_migrations is the migrator's own table, made outside the migration files.
const migratedTables = new Set(['schema_migrations', ...[...scripts.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?([a-z_]+)/g)].map((m) => m[1]!)])
const droppedTables = new Set([...scripts.matchAll(/DROP TABLE (?:IF EXISTS )?([a-z_]+)/g)].map((m) => m[1]!))
const schemas = { app: 'public', queue: 'pgboss' }

describe('the runtime privilege map', () => {
  it('names every table the migrations create, and no other', () => {
    const live = [...migratedTables].filter((t) => !droppedTables.has(t)).sort()
    assert.deepEqual(Object.keys(RUNTIME_TABLE_PRIVILEGES).sort(), live)
  })

  it('names the sequence of every serial column', () => {
    const serials = [...scripts.matchAll(/CREATE TABLE ([a-z_]+) \(([^;]*?)\n\);/g)].flatMap(([, table, body]) =>
      [...body!.matchAll(/^\s+([a-z_]+) (?:big|small)?serial\b/gm)].map(([, column]) => `${table}_${column}_seq`))
    assert.deepEqual([...RUNTIME_SEQUENCES].sort(), serials.sort())
  })

  it('gives DELETE only where the code deletes, and never DDL', () => {
    for (const table of ['api_keys', 'job_artifacts', 'job_events', 'refresh_tokens', 'schema_migrations']) {
      assert.ok(!RUNTIME_TABLE_PRIVILEGES[table]!.includes('DELETE'), table)
    }
    assert.deepEqual(RUNTIME_TABLE_PRIVILEGES.schema_migrations, ['SELECT'])
    const granted = grantStatements(schemas, 'tympan_app').flatMap((s) => /^GRANT ([A-Z, ]+) ON /.exec(s)?.[1]!.split(', ') ?? [])
    assert.deepEqual([...new Set(granted)].sort(), ['DELETE', 'INSERT', 'SELECT', 'UPDATE', 'USAGE'])
  })

  it('revokes before it grants, so the grants always equal the map', () => {
    const statements = grantStatements(schemas, 'tympan_app')
    const firstGrant = statements.findIndex((s) => s.startsWith('GRANT SELECT'))
    assert.ok(statements.slice(0, firstGrant).some((s) => s === 'REVOKE ALL ON ALL TABLES IN SCHEMA "public" FROM "tympan_app"'))
    assert.ok(statements.includes('GRANT SELECT, INSERT, UPDATE ON "public"."refresh_tokens" TO "tympan_app"'))
    assert.ok(statements.includes('GRANT USAGE ON SEQUENCE "public"."job_events_id_seq" TO "tympan_app"'))
    assert.ok(statements.includes('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "pgboss" TO "tympan_app"'))
  })

  it('quotes any role name the server reports, and refuses an unsafe schema name', () => {
    assert.equal(grantFor({ kind: 'table', schema: 'public', name: 'files', privilege: 'DELETE' }, 'odd"role'), 'GRANT DELETE ON "public"."files" TO "odd""role";')
    assert.throws(() => grantStatements({ app: 'public; DROP', queue: 'pgboss' }, 'r'), /Unsafe SQL identifier/)
  })

  it('requires pg-boss\'s schema only once it exists, and all four privileges on each of its tables', () => {
    assert.ok(!requiredPrivileges(schemas, undefined).some((r) => r.schema === 'pgboss'))
    const withQueue = requiredPrivileges(schemas, ['job', 'queue'])
    assert.deepEqual(withQueue.filter((r) => r.schema === 'pgboss').map((r) => `${r.kind}:${r.name ?? ''}:${r.privilege}`), [
      'schema::USAGE', 'table:job:SELECT', 'table:job:INSERT', 'table:job:UPDATE', 'table:job:DELETE',
      'table:queue:SELECT', 'table:queue:INSERT', 'table:queue:UPDATE', 'table:queue:DELETE'])
  })

  it('says who lacks what, and both ways to fix it', () => {
    const message = missingPrivilegesMessage('tympan_app', [{ kind: 'table', schema: 'public', name: 'files', privilege: 'DELETE' }, { kind: 'schema', schema: 'pgboss', privilege: 'USAGE' }])
    assert.match(message, /^The database role "tympan_app" \(DATABASE_URL\) lacks 2 privilege/)
    assert.match(message, /- DELETE on table "public"\."files"/)
    assert.match(message, /`tympan migrate` with DATABASE_MIGRATION_URL/)
    assert.match(message, /GRANT DELETE ON "public"\."files" TO "tympan_app";/)
    assert.match(message, /GRANT USAGE ON SCHEMA "pgboss" TO "tympan_app";/)
  })
})

describe('doctor\'s findings about the runtime role', () => {
  const restricted: RoleFacts = {
    role: 'tympan_app',
    superuser: false,
    createRole: false,
    createDb: false,
    ownedSchemas: [],
    creatableSchemas: [],
    ownedTables: 0,
    held: Object.entries(RUNTIME_TABLE_PRIVILEGES).map(([table, privileges]) => ({ table, privileges: [...privileges] })),
    missing: []
  }
  const statusOf = (facts: RoleFacts) => Object.fromEntries(roleChecks(facts).map((i) => [i.item, i.status]))

  it('passes a role that holds exactly the map, and lists what it holds', () => {
    const items = roleChecks(restricted)
    assert.deepEqual(items.map((i) => i.status), ['pass', 'pass', 'pass', 'pass'])
    assert.match(items[0]!.detail, /audit_log SELECT\/INSERT\/UPDATE/)
  })

  it('fails a missing privilege, and warns about DDL, superuser and extra privileges', () => {
    const owner = { ...restricted, superuser: true, ownedSchemas: ['public'], creatableSchemas: ['public', 'pgboss'], ownedTables: 14 }
    const statuses = statusOf({ ...owner, missing: [{ kind: 'table', schema: 'public', name: 'files', privilege: 'DELETE' }] })
    assert.deepEqual(Object.values(statuses), ['fail', 'warn', 'warn', 'warn'])
    const lacking = roleChecks({ ...restricted, missing: [{ kind: 'table', schema: 'public', name: 'files', privilege: 'SELECT' }, { kind: 'table', schema: 'public', name: 'files', privilege: 'DELETE' }] })[0]!
    assert.match(lacking.detail, /"tympan_app" lacks SELECT\/DELETE on "public"\."files": run `tympan migrate` with DATABASE_MIGRATION_URL/)
    assert.equal(roleChecks({ ...restricted, held: [] })[0]!.status, 'fail', 'an unmigrated schema')
    const ddl = roleChecks(owner).find((i) => i.item.includes('no DDL'))!
    assert.match(ddl.detail, /owns schema public, may CREATE in schema pgboss, owns 14 table\(s\)/)
  })

  it('names each privilege held beyond the map', () => {
    const held = [{ table: 'api_keys', privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'] }, { table: 'leftover', privileges: ['SELECT'] }]
    assert.deepEqual(excessPrivileges({ held }), [{ table: 'api_keys', privileges: ['DELETE', 'TRUNCATE'] }, { table: 'leftover', privileges: ['SELECT'] }])
    assert.equal(statusOf({ ...restricted, held })['Runtime database role holds nothing beyond what the code uses'], 'warn')
  })
})
