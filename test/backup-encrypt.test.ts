import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import type { FastifyBaseLogger } from 'fastify'
import pino from 'pino'
import { generateX25519Identity, identityToRecipient } from 'age-encryption'
import { readFixture, wavHeader } from './helpers/audio.ts'
import { runTympan, servedEnv, serveTympan, type CliResult } from './helpers/cli.ts'
import { openTestDb, type TestDb } from './helpers/db.ts'
import { newBackupKey, type RestoreSecret } from '../src/cli/backup-crypto.ts'
import { createBackup, restoreBackup } from '../src/cli/backup.ts'
import { controlSocketPath, listenControl } from '../src/cli/control-socket.ts'
import { localStorage } from '../src/storage/local-storage.ts'

const sha256 = (bytes: Buffer | Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-bke-'))
const PASSPHRASE = randomBytes(36).toString('base64')
const identity = await generateX25519Identity()
const recipient = await identityToRecipient(identity)
const listing = (dir: string) => fs.existsSync(dir) ? fs.readdirSync(dir) : []
const filesUnder = (dir: string) => fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name))
const leftovers = () => listing(root).filter((name) => name.includes('.restoring-'))

after(() => {
  fs.rmSync(root, { recursive: true, force: true })
})

/** Objects as uploads would leave them: a WAV header (the plaintext a reader would spot) and noise. */
async function seed (test: TestDb, dir: string): Promise<Map<string, Buffer>> {
  const pglite = test.db.pglite!
  const store = localStorage(path.join(dir, 'store'))
  const [{ id: owner }] = (await pglite.query<{ id: string }>("INSERT INTO users (email, role) VALUES ('enc@backup.test', 'member') RETURNING id")).rows as [{ id: string }]
  const objects = new Map<string, Buffer>()
  for (const size of [1000, 150_000]) {
    const id = randomUUID()
    const bytes = Buffer.concat([wavHeader(size), randomBytes(size)])
    await store.write(id, Readable.from([bytes]))
    await pglite.query(`INSERT INTO files (id, owner_id, name, format, content_type, size, sha256, duration_sec, sample_rate, channels, codec, source, expires_at)
      VALUES ($1, $2, 'a.wav', 'wav', 'audio/wav', $3, $4, 1, 44100, 2, 'pcm_s16le', 'upload', now() + interval '1 day')`, [id, owner, bytes.length, sha256(bytes)])
    objects.set(id, bytes)
  }
  return objects
}

describe('encrypted backups (createBackup and restoreBackup)', { concurrency: false, timeout: 600_000 }, () => {
  let test: TestDb
  let objects: Map<string, Buffer>
  const dir = path.join(root, 'lib')
  const byPassphrase = path.join(dir, 'by-passphrase')
  const byRecipient = path.join(dir, 'by-recipient')
  const plain = path.join(dir, 'plain')
  let n = 0
  const target = () => path.join(dir, `restored-${n++}`)
  /** A copy of the recipient backup to damage. */
  const copy = () => {
    const to = path.join(dir, `copy-${n++}`)
    fs.cpSync(byRecipient, to, { recursive: true })
    return to
  }
  const manifestOf = (backup: string) => JSON.parse(fs.readFileSync(path.join(backup, 'manifest.json'), 'utf8')) as { version: number, mac: string, counts: { users: number }, objects: Array<{ id: string, size: number, sha256: string }>, encryption: unknown }
  const writeManifest = (backup: string, manifest: unknown) => fs.writeFileSync(path.join(backup, 'manifest.json'), JSON.stringify(manifest, null, 2))
  const objectFile = (backup: string, id: string) => path.join(backup, 'objects', id.slice(0, 2), `${id}.age`)
  const source = () => ({ pglite: test.db.pglite!, storage: localStorage(path.join(dir, 'store')), holdDeletes: async () => async () => {} })
  /** A restore that must fail: its message, and nothing left behind. */
  const refused = async (backup: string, secret: RestoreSecret | undefined, message: RegExp) => {
    const into = target()
    await assert.rejects(restoreBackup(backup, into, secret), message)
    assert.deepEqual(listing(into), [], 'nothing restored')
    assert.deepEqual(listing(dir).filter((name) => name.includes('.restoring-')), [], 'no staging directory left')
  }

  before(async () => {
    fs.mkdirSync(dir)
    test = await openTestDb('pglite')
    objects = await seed(test, dir)
    await createBackup(source(), byPassphrase, await newBackupKey({ passphrase: PASSPHRASE }))
    await createBackup(source(), byRecipient, await newBackupKey({ recipients: [recipient] }))
    await createBackup(source(), plain)
  })
  after(async () => { await test.close() })

  it('encrypts every file: no WAV header, no secret readable in the backup, each an age file', () => {
    for (const backup of [byPassphrase, byRecipient]) {
      const names = filesUnder(backup).map((file) => path.relative(backup, file)).sort()
      assert.deepEqual(names, ['database.tar.gz.age', 'key.age', 'manifest.json', ...[...objects.keys()].map((id) => `objects/${id.slice(0, 2)}/${id}.age`)].sort())
      for (const file of filesUnder(backup).filter((f) => !f.endsWith('manifest.json'))) {
        const bytes = fs.readFileSync(file)
        assert.equal(bytes.subarray(0, 21).toString('latin1'), 'age-encryption.org/v1', `${file} is an age file`)
        // Long needles only: a short one turns up in random ciphertext now and then.
        for (const object of objects.values()) assert.equal(bytes.indexOf(object.subarray(0, 64)), -1, `no object's first bytes (its WAV header) in ${file}`)
        for (const secret of ['AGE-SECRET-KEY-1', PASSPHRASE]) assert.equal(bytes.indexOf(secret), -1, `no secret in ${file}`)
      }
      const manifest = manifestOf(backup)
      assert.equal(manifest.version, 2)
      assert.match(manifest.mac, /^[0-9a-f]{64}$/)
      assert.equal(fs.readFileSync(path.join(backup, 'manifest.json'), 'utf8').indexOf(PASSPHRASE), -1)
      // The hashes are of the ciphertext, so a backup can be checked without its key.
      for (const object of manifest.objects) assert.equal(sha256(fs.readFileSync(objectFile(backup, object.id))), object.sha256)
    }
  })

  it('restores with the passphrase, and with the identity of a recipient, byte for byte', async () => {
    for (const [backup, secret] of [[byPassphrase, { passphrase: PASSPHRASE }], [byRecipient, { identities: [identity] }]] as Array<[string, RestoreSecret]>) {
      const into = target()
      const summary = await restoreBackup(backup, into, secret)
      assert.equal(summary.encrypted, true)
      assert.deepEqual(summary.counts, { users: 1, files: 2, jobs: 0 })
      const store = localStorage(path.join(into, 'files'))
      for (const [id, bytes] of objects) {
        const chunks: Buffer[] = []
        for await (const chunk of store.read(id)) chunks.push(chunk as Buffer)
        assert.deepEqual(Buffer.concat(chunks), bytes)
      }
      assert.ok(fs.existsSync(path.join(into, 'db')))
    }
  })

  it('refuses a wrong passphrase, a wrong identity and no secret at all', async () => {
    await refused(byPassphrase, { passphrase: `${PASSPHRASE}!` }, /the passphrase does not open this backup's key\.age/)
    await refused(byRecipient, { identities: [await generateX25519Identity()] }, /none of the identities opens/)
    await refused(byPassphrase, undefined, /is an encrypted backup sealed with a passphrase: give --passphrase-file FILE or TYMPAN_BACKUP_PASSPHRASE/)
    await refused(byRecipient, undefined, /sealed with age recipients: give --identity-file FILE/)
  })

  it('refuses an object with one flipped byte', async () => {
    const backup = copy()
    const [id] = [...objects.keys()]
    const file = objectFile(backup, id!)
    const bytes = fs.readFileSync(file)
    bytes[bytes.length - 20]! ^= 0x01
    fs.writeFileSync(file, bytes)
    await refused(backup, { identities: [identity] }, new RegExp(`object ${id} (fails age's authentication|has \\d+ bytes)`))
  })

  it('refuses a truncated or altered database dump', async () => {
    const truncated = copy()
    const dump = path.join(truncated, 'database.tar.gz.age')
    fs.truncateSync(dump, fs.statSync(dump).size - 1)
    await refused(truncated, { identities: [identity] }, /does not match its manifest: database\.tar\.gz\.age has \d+ bytes/)
    const flipped = copy()
    const bytes = fs.readFileSync(path.join(flipped, 'database.tar.gz.age'))
    bytes[300]! ^= 0x80
    fs.writeFileSync(path.join(flipped, 'database.tar.gz.age'), bytes)
    await refused(flipped, { identities: [identity] }, /database\.tar\.gz\.age has \d+ bytes with sha256/)
  })

  it('refuses an edited manifest, even one whose hashes match the swapped files', async () => {
    const counts = copy()
    writeManifest(counts, { ...manifestOf(counts), counts: { users: 9, files: 2, jobs: 0 } })
    await refused(counts, { identities: [identity] }, /manifest\.json was altered \(its MAC does not match/)

    // A swap of a whole object for another age file to the same key, hash updated: only the MAC tells.
    const swapped = copy()
    const manifest = manifestOf(swapped)
    const [first, second] = manifest.objects
    fs.copyFileSync(objectFile(swapped, second!.id), objectFile(swapped, first!.id))
    writeManifest(swapped, { ...manifest, objects: [{ ...first, size: second!.size, sha256: second!.sha256 }, second] })
    await refused(swapped, { identities: [identity] }, /MAC does not match/)

    const noMac = copy()
    writeManifest(noMac, { ...manifestOf(noMac), mac: undefined })
    await refused(noMac, { identities: [identity] }, /lacks its MAC/)
    // Passed off as an unencrypted backup: the version says encrypted, or the files are not what it lists.
    const downgraded = copy()
    writeManifest(downgraded, { ...manifestOf(downgraded), version: 1, encryption: undefined, mac: undefined })
    await refused(downgraded, { identities: [identity] }, /not an encrypted backup, but a passphrase or identity was given/)
  })

  it('refuses a backup with a file removed', async () => {
    const noObject = copy()
    const [id] = [...objects.keys()]
    fs.rmSync(objectFile(noObject, id!))
    await refused(noObject, { identities: [identity] }, new RegExp(`object ${id} is missing`))
    const noKey = copy()
    fs.rmSync(path.join(noKey, 'key.age'))
    await refused(noKey, { identities: [identity] }, /key\.age is missing/)
    const noDump = copy()
    fs.rmSync(path.join(noDump, 'database.tar.gz.age'))
    await refused(noDump, { identities: [identity] }, /database\.tar\.gz\.age is missing/)
  })

  it('refuses a key for an unencrypted backup, and still restores that one without', async () => {
    await refused(plain, { passphrase: PASSPHRASE }, /is not an encrypted backup/)
    const summary = await restoreBackup(plain, target())
    assert.equal(summary.encrypted, false)
  })
})

// End to end: `tympan admin backup --encrypt` through a running server (the passphrase from
// the environment) and offline (a recipient), restored by the CLI; the age CLI opens them too.
const ADMIN = 'admin@backup-encrypt.test'
const ADMIN_PASSWORD = 'a perfectly long backup test passphrase'

const env = servedEnv({ email: ADMIN, password: ADMIN_PASSWORD, logLevel: 'info' })
const tympan = (args: string[], dataDir: string, extra: Record<string, string> = {}): Promise<CliResult> =>
  runTympan(args, { env: env(dataDir, extra), cwd: root, timeoutMs: 300_000 })

/** `tympan serve` on `dataDir` with one uploaded file; its log is kept to search for secrets. */
async function serveWithUpload (dataDir: string): Promise<{ log: () => string, upload: { id: string, sha256: string }, stop: () => Promise<void> }> {
  const served = await serveTympan(env(dataDir), { cwd: root })
  const url = served.url
  const login = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: ADMIN, password: ADMIN_PASSWORD, tokens: true }) })
  assert.equal(login.status, 200)
  const { accessToken } = await login.json() as { accessToken: string }
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(readFixture('wav'))]), 'tone.wav')
  const res = await fetch(`${url}/api/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${accessToken}` }, body: form })
  assert.equal(res.status, 201, await res.clone().text())
  return { log: () => { const { stdout, stderr } = served.output(); return stdout + stderr }, upload: await res.json() as { id: string, sha256: string }, stop: async () => { await served.stop() } }
}

describe('tympan admin backup --encrypt and restore', { concurrency: false, timeout: 1_200_000 }, () => {
  const original = path.join(root, 'cli-original')
  const online = path.join(root, 'cli-online')
  const offline = path.join(root, 'cli-offline')
  const passphraseFile = path.join(root, 'passphrase.txt')
  const identityFile = path.join(root, 'identity.txt')
  const recipientFile = path.join(root, 'recipients.txt')
  let upload: { id: string, sha256: string }
  const outputs: string[] = []
  const run = async (args: string[], dataDir: string, extra: Record<string, string> = {}) => {
    const res = await tympan(args, dataDir, extra)
    outputs.push(res.stdout, res.stderr)
    return res
  }
  const restoredObject = (dataDir: string) => fs.readFileSync(path.join(dataDir, 'files', 'objects', upload.id.slice(0, 2), upload.id))

  before(() => {
    fs.writeFileSync(passphraseFile, `${PASSPHRASE}\n`, { mode: 0o600 })
    fs.writeFileSync(identityFile, `# created: 2026-12-01T00:00:00Z\n# public key: ${recipient}\n${identity}\n`, { mode: 0o600 })
    fs.writeFileSync(recipientFile, `# the backup host's public key\n${recipient}\n`)
  })

  it('backs up encrypted through the running server, the passphrase only in the CLI', async () => {
    const server = await serveWithUpload(original)
    try {
      upload = server.upload
      const weak = await run(['admin', 'backup', path.join(root, 'cli-weak'), '--encrypt'], original, { TYMPAN_BACKUP_PASSPHRASE: 'hunter2 hunter2' })
      assert.equal(weak.code, 1)
      assert.match(weak.stderr, /The backup passphrase is shorter than 32 bytes/)
      assert.deepEqual(listing(path.join(root, 'cli-weak')), [])
      const argv = await run(['admin', 'backup', path.join(root, 'cli-argv'), '--encrypt', '--passphrase', PASSPHRASE], original)
      assert.equal(argv.code, 1)
      assert.match(argv.stderr, /Unknown option '--passphrase'/)
      const forgotten = await run(['admin', 'backup', path.join(root, 'cli-forgotten')], original, { TYMPAN_BACKUP_PASSPHRASE: PASSPHRASE })
      assert.equal(forgotten.code, 1)
      assert.match(forgotten.stderr, /TYMPAN_BACKUP_PASSPHRASE is set but --encrypt is not given/)

      const res = await run(['admin', 'backup', online, '--encrypt'], original, { TYMPAN_BACKUP_PASSPHRASE: PASSPHRASE })
      assert.equal(res.code, 0, res.stderr)
      assert.match(res.stdout, /from the running server: .*, encrypted with age \(its key in key\.age, sealed with the passphrase\)\./)
    } finally {
      await server.stop()
    }
    assert.match(server.log(), /"encrypted":true.*"msg":"backup started"/)
    outputs.push(server.log())
    assert.ok(fs.existsSync(path.join(online, 'key.age')))
    assert.equal(fs.readFileSync(path.join(online, 'objects', upload.id.slice(0, 2), `${upload.id}.age`)).indexOf('RIFF'), -1)
  })

  it('restores it with --passphrase-file, and refuses without it or with a wrong one', async () => {
    const none = await run(['admin', 'restore', online], path.join(root, 'cli-none'))
    assert.equal(none.code, 1)
    assert.match(none.stderr, /is an encrypted backup sealed with a passphrase/)
    const wrongFile = path.join(root, 'wrong.txt')
    fs.writeFileSync(wrongFile, randomBytes(36).toString('base64'))
    const wrong = await run(['admin', 'restore', online, '--passphrase-file', wrongFile], path.join(root, 'cli-wrong'))
    assert.equal(wrong.code, 1)
    assert.match(wrong.stderr, /the passphrase does not open this backup's key\.age/)
    assert.deepEqual(listing(path.join(root, 'cli-wrong')).filter((name) => name !== 'secrets.json'), [])

    const into = path.join(root, 'cli-restored')
    const res = await run(['admin', 'restore', online, '--passphrase-file', passphraseFile], into)
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /from the encrypted \(verified\) backup of/)
    assert.equal(sha256(restoredObject(into)), upload.sha256)
    assert.deepEqual(leftovers(), [])
  })

  it('backs up offline to a recipient, and restores with the identity file', async () => {
    const res = await run(['admin', 'backup', offline, '--encrypt', '--recipient-file', recipientFile], original)
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /^Backed up 1 user\(s\), 1 file\(s\) and 0 job\(s\): .*sealed with the recipients\)\./)
    const both = await run(['admin', 'backup', path.join(root, 'cli-both'), '--encrypt', '--recipient', recipient, '--passphrase-file', passphraseFile], original)
    assert.equal(both.code, 1)
    assert.match(both.stderr, /passphrase or with recipients, not both/)
    const into = path.join(root, 'cli-restored-identity')
    const restored = await run(['admin', 'restore', offline, '--identity-file', identityFile], into)
    assert.equal(restored.code, 0, restored.stderr)
    assert.equal(sha256(restoredObject(into)), upload.sha256)
  })

  it('never prints or logs the passphrase or a secret key', () => {
    for (const text of outputs) {
      assert.equal(text.indexOf(PASSPHRASE), -1)
      assert.equal(text.indexOf('AGE-SECRET-KEY'), -1)
    }
  })

  it('deletes what an older server wrote in clear when it ignored --encrypt', async () => {
    const dataDir = path.join(root, 'cli-old-server')
    fs.mkdirSync(dataDir, { mode: 0o700 })
    const into = path.join(root, 'cli-old-backup')
    // A server of the release before: it takes the request, ignores the encryption, answers no `encrypted`.
    const control = await listenControl(controlSocketPath(dataDir), async (dir) => {
      fs.mkdirSync(path.join(dir, 'objects'), { recursive: true })
      fs.writeFileSync(path.join(dir, 'database.tar.gz'), 'plain')
      fs.writeFileSync(path.join(dir, 'manifest.json'), '{}')
      return { dir, objects: 0, bytes: 5, absent: 0, counts: { users: 0, files: 0, jobs: 0 } }
    }, pino({ level: 'silent' }) as unknown as FastifyBaseLogger)
    try {
      const res = await run(['admin', 'backup', into, '--encrypt', '--recipient', recipient], dataDir)
      assert.equal(res.code, 1)
      assert.match(res.stderr, /an older Tympan that cannot encrypt backups; the unencrypted backup it wrote into .* was deleted/)
      assert.deepEqual(listing(into), [])
    } finally {
      await control.close()
    }
  })

  const age = spawnSync('age', ['--version']).status === 0
  it('is readable by the age CLI: key.age with the operator\'s identity, then every file with the backup\'s key', { skip: age ? false : 'the age CLI is not installed (apt-get install age)' }, () => {
    const backupKey = path.join(root, 'backup-key.txt')
    const opened = spawnSync('age', ['--decrypt', '--identity', identityFile, '--output', backupKey, path.join(offline, 'key.age')], { encoding: 'utf8' })
    assert.equal(opened.status, 0, opened.stderr)
    const object = spawnSync('age', ['--decrypt', '--identity', backupKey, path.join(offline, 'objects', upload.id.slice(0, 2), `${upload.id}.age`)], { maxBuffer: 1 << 28 })
    assert.equal(object.status, 0, object.stderr.toString())
    assert.equal(sha256(object.stdout), upload.sha256)
    const dump = spawnSync('age', ['--decrypt', '--identity', backupKey, path.join(offline, 'database.tar.gz.age')], { maxBuffer: 1 << 28 })
    assert.equal(dump.status, 0, dump.stderr.toString())
    assert.deepEqual([...dump.stdout.subarray(0, 2)], [0x1f, 0x8b], 'the dump is the gzip PGlite wrote')
  })
})
