import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { backupDumpPath, backupObjectPath, buildManifest, objectPath, parseManifest, unsignedManifest } from './backup-manifest.ts'

const ID = '0f8fad5b-d9cb-469f-a165-70867728950e'
const HASH = 'a'.repeat(64)
const good = () => buildManifest({
  tympan: '0.1.0',
  createdAt: '2026-12-01T12:00:00.000Z',
  database: { size: 10, sha256: HASH },
  objects: [{ id: ID, size: 3, sha256: HASH }],
  absent: [],
  counts: { users: 1, files: 1, jobs: 0 }
})
const edited = (change: (m: Record<string, unknown>) => void) => {
  const m = good() as unknown as Record<string, unknown>
  change(m)
  return JSON.stringify(m)
}

describe('backup manifest', () => {
  it('reads back what it wrote', () => {
    assert.deepEqual(parseManifest(JSON.stringify(good())), good())
  })

  it('places objects as the local store does, from the id alone', () => {
    assert.equal(objectPath(ID), `objects/0f/${ID}`)
    assert.equal(backupObjectPath(ID, true), `objects/0f/${ID}.age`)
    assert.equal(backupDumpPath(true), 'database.tar.gz.age')
  })

  it('makes an encrypted backup version 2, which an older reader refuses, and reads it back with its MAC', () => {
    const { format: _format, version: _version, ...fields } = good()
    const encrypted = { ...buildManifest({ ...fields, encryption: { scheme: 'age', sealedWith: 'passphrase' } }), mac: HASH }
    assert.equal(encrypted.version, 2)
    assert.deepEqual(parseManifest(JSON.stringify(encrypted)), encrypted)
    const { mac: _mac, ...unsigned } = encrypted
    assert.deepEqual(unsignedManifest(encrypted), unsigned)
    assert.throws(() => parseManifest(JSON.stringify({ ...encrypted, mac: undefined })), /lacks its MAC/)
    assert.throws(() => parseManifest(JSON.stringify({ ...encrypted, encryption: { scheme: 'gpg', sealedWith: 'passphrase' } })), /valid encryption entry/)
    assert.throws(() => parseManifest(JSON.stringify({ ...encrypted, version: 1 })), /unencrypted backup \(version 1\) names an encryption/)
    assert.throws(() => parseManifest(JSON.stringify({ ...encrypted, encryption: undefined })), /valid encryption entry/)
  })

  for (const [what, text, message] of [
    ['not JSON', '{', /not JSON/],
    ['another file', '{"name":"x"}', /not a Tympan backup/],
    ['a newer format', edited((m) => { m.version = 3 }), /version 3 is not supported/],
    ['a path for an id', edited((m) => { m.objects = [{ id: '../../etc/passwd', size: 1, sha256: HASH }] }), /invalid object id/],
    ['a duplicate object', edited((m) => { m.objects = [{ id: ID, size: 3, sha256: HASH }, { id: ID, size: 3, sha256: HASH }] }), /twice/],
    ['a bad hash', edited((m) => { m.objects = [{ id: ID, size: 3, sha256: 'zz' }] }), /object 0f8fad5b/],
    ['a negative size', edited((m) => { m.database = { size: -1, sha256: HASH } }), /database/],
    ['no object list', edited((m) => { delete m.objects }), /object list/],
    ['an absent id also present', edited((m) => { m.absent = [ID] }), /absent/],
    ['no counts', edited((m) => { delete m.counts }), /counts/],
    ['no date', edited((m) => { m.createdAt = 'yesterday' }), /date/]
  ] as const) {
    it(`refuses ${what}`, () => {
      assert.throws(() => parseManifest(text), message)
    })
  }
})
