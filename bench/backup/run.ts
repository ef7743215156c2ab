/**
 * `tympan admin backup` and `restore` of the embedded default, unencrypted (the baseline) and
 * `--encrypt` (age, to a recipient and with a passphrase), on the same database and objects
 * in one run. Prints each pass's throughput over the objects' bytes and its ratio to the
 * unencrypted one (absolute numbers depend on the machine and its load; the ratios tell the
 * cost of encryption).
 *
 *   node bench/backup/run.ts [--objects 40] [--mb 4]
 *
 * Last run (18:01 UTC, 2 cores shared with five other test runs, 29 s of CPU in 113 s): 40 × 4 MiB,
 * backup unencrypted 17.0 MB/s, to a recipient 10.2 (0.60×), with a passphrase 9.8 (0.58×);
 * restore 21.3, 15.4 (0.72×), 10.6 MB/s (0.50×, scrypt's second or so included on 168 MB).
 * age-encryption's ChaCha20-Poly1305 is pure JavaScript (about 96 MB/s alone on this machine).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { parseArgs } from 'node:util'
import { generateX25519Identity, identityToRecipient } from 'age-encryption'
import { newBackupKey, type BackupSealing, type RestoreSecret } from '../../src/cli/backup-crypto.ts'
import { createBackup, restoreBackup } from '../../src/cli/backup.ts'
import { openDatabase } from '../../src/db/database.ts'
import { migrate } from '../../src/db/migrator.ts'
import { localStorage } from '../../src/storage/local-storage.ts'

const { values } = parseArgs({ options: { objects: { type: 'string', default: '40' }, mb: { type: 'string', default: '4' } } })
const OBJECTS = Number(values.objects)
const BYTES = Number(values.mb) * 1024 * 1024

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-bench-backup-'))
try {
  const db = await openDatabase({ databaseUrl: '', pgliteDir: path.join(root, 'db') })
  await migrate(db)
  const pglite = db.pglite!
  const storage = localStorage(path.join(root, 'files'))
  const [{ id: owner }] = (await pglite.query<{ id: string }>("INSERT INTO users (email, role) VALUES ('bench@backup.test', 'member') RETURNING id")).rows as [{ id: string }]
  for (let i = 0; i < OBJECTS; i++) {
    const id = randomUUID()
    const bytes = randomBytes(BYTES)
    await storage.write(id, Readable.from([bytes]))
    await pglite.query(`INSERT INTO files (id, owner_id, name, format, content_type, size, sha256, duration_sec, sample_rate, channels, codec, source, expires_at)
      VALUES ($1, $2, 'a.wav', 'wav', 'audio/wav', $3, $4, 1, 44100, 2, 'pcm_s16le', 'upload', now() + interval '1 day')`, [id, owner, bytes.length, createHash('sha256').update(bytes).digest('hex')])
  }
  const identity = await generateX25519Identity()
  const passphrase = randomBytes(36).toString('base64')
  const passes: Array<{ name: string, sealing: () => Promise<BackupSealing | undefined>, secret?: RestoreSecret }> = [
    { name: 'unencrypted', sealing: async () => undefined },
    { name: '--encrypt --recipient', sealing: async () => await newBackupKey({ recipients: [await identityToRecipient(identity)] }), secret: { identities: [identity] } },
    { name: '--encrypt (passphrase)', sealing: async () => await newBackupKey({ passphrase }), secret: { passphrase } }
  ]
  const megabytes = OBJECTS * BYTES / 1e6
  const rows: Array<{ name: string, backup: number, restore: number }> = []
  let n = 0
  for (const pass of passes) {
    const dir = path.join(root, `backup-${n}`)
    let started = performance.now()
    // The sealing is part of the CLI's cost (scrypt for a passphrase), so it is timed too.
    await createBackup({ pglite, storage, holdDeletes: async () => async () => {} }, dir, await pass.sealing())
    const backup = megabytes / ((performance.now() - started) / 1000)
    started = performance.now()
    await restoreBackup(dir, path.join(root, `restored-${n++}`), pass.secret)
    rows.push({ name: pass.name, backup, restore: megabytes / ((performance.now() - started) / 1000) })
  }
  await db.close()
  const base = rows[0]!
  console.log(`${OBJECTS} objects of ${values.mb} MiB (${megabytes.toFixed(0)} MB) and the database dump`)
  console.log('| pass | backup MB/s | × unencrypted | restore MB/s | × unencrypted |')
  console.log('|---|---|---|---|---|')
  for (const row of rows) console.log(`| ${row.name} | ${row.backup.toFixed(1)} | ${(row.backup / base.backup).toFixed(2)} | ${row.restore.toFixed(1)} | ${(row.restore / base.restore).toFixed(2)} |`)
} finally {
  fs.rmSync(root, { recursive: true, force: true })
}
