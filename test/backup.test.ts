import assert from 'node:assert/strict'
import { createHash, randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import { fixture, readFixture } from './helpers/audio.ts'
import { runTympan, servedEnv, serveTympan, type CliResult } from './helpers/cli.ts'
import { openTestDb } from './helpers/db.ts'
import { createBackup, restoreBackup } from '../src/cli/backup.ts'
import { deferrableDeletes } from '../src/storage/deferred-deletes.ts'
import { localStorage } from '../src/storage/local-storage.ts'
import type { Storage } from '../src/storage/storage.ts'

// End to end on the embedded default: `tympan serve` in a child process, `tympan admin backup`
// while it serves (uploads, a delete and jobs under way), then `tympan admin restore` into a
// fresh data directory and a second server on it.
const ADMIN = 'admin@backup.test'
const PASSWORD = 'a perfectly long backup test passphrase'
const sha256 = (bytes: Buffer | Uint8Array) => createHash('sha256').update(bytes).digest('hex')

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-bk-'))

const env = servedEnv({ email: ADMIN, password: PASSWORD })

const tympan = (args: string[], dataDir: string, extra: Record<string, string> = {}): Promise<CliResult> =>
  runTympan(args, { env: env(dataDir, extra), cwd: root, timeoutMs: 300_000 })

interface Server {
  url: string
  dataDir: string
  pid: number
  token: string
  stop: () => Promise<void>
}

async function startServer (dataDir: string): Promise<Server> {
  const served = await serveTympan(env(dataDir), { cwd: root })
  const login = await fetch(`${served.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: ADMIN, password: PASSWORD, tokens: true })
  })
  assert.equal(login.status, 200, await login.clone().text())
  const { accessToken } = await login.json() as { accessToken: string }
  return { url: served.url, dataDir, pid: served.child.pid!, token: accessToken, stop: async () => { await served.stop() } }
}

async function api<T> (server: Server, method: string, route: string, body?: unknown): Promise<{ status: number, body: T }> {
  const res = await fetch(`${server.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${server.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {})
  })
  const text = await res.text()
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T }
}

async function bytes (server: Server, route: string): Promise<Buffer> {
  const res = await fetch(`${server.url}${route}`, { headers: { authorization: `Bearer ${server.token}` } })
  assert.equal(res.status, 200, route)
  return Buffer.from(await res.arrayBuffer())
}

interface FileRow { id: string, sha256: string, size: number }
interface JobRow { id: string, status: string, artifacts: Array<{ name: string }> }

async function upload (server: Server, name = 'tone.wav'): Promise<FileRow> {
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(readFixture('wav'))]), name)
  const res = await fetch(`${server.url}/api/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${server.token}` }, body: form })
  assert.equal(res.status, 201, await res.clone().text())
  return await res.json() as FileRow
}

async function all<T> (server: Server, route: string): Promise<T[]> {
  const items: T[] = []
  let cursor: string | null = null
  do {
    const page: { status: number, body: { items: T[], nextCursor: string | null } } = await api(server, 'GET', `${route}?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
    assert.equal(page.status, 200)
    items.push(...page.body.items)
    cursor = page.body.nextCursor
  } while (cursor)
  return items
}

async function waitForJobs (server: Server, ids: string[]): Promise<JobRow[]> {
  const jobs: JobRow[] = []
  for (const id of ids) {
    for (const deadline = Date.now() + 180_000; ;) {
      const { body } = await api<JobRow>(server, 'GET', `/api/v1/jobs/${id}`)
      if (!['queued', 'running'].includes(body.status)) { jobs.push(body); break }
      if (Date.now() > deadline) throw new Error(`job ${id} still ${body.status}`)
      await sleep(200)
    }
  }
  return jobs
}

const listing = (dir: string) => fs.existsSync(dir) ? fs.readdirSync(dir) : []

after(async () => {
  fs.rmSync(root, { recursive: true, force: true })
})

describe('tympan admin backup and restore (embedded PGlite and local files)', { concurrency: false, timeout: 1_200_000 }, () => {
  const original = path.join(root, 'original')
  const restored = path.join(root, 'restored')
  const backupDir = path.join(root, 'backup')
  let snapshot: { users: string[], files: Map<string, string>, jobs: Map<string, Map<string, string>> }
  let deleted: string
  const during: string[] = []
  let backupOutput: CliResult

  before(() => { fixture('wav') })

  it('backs up through the running server while uploads, a delete and jobs go on', async () => {
    const server = await startServer(original)
    try {
      const files = [await upload(server), await upload(server), await upload(server)]
      const done = await waitForJobs(server, await Promise.all(files.slice(0, 2).map(async (f) =>
        (await api<JobRow>(server, 'POST', '/api/v1/jobs', { fileId: f.id, type: 'analyze' })).body.id)))
      assert.ok(done.every((j) => j.status === 'succeeded' && j.artifacts.length > 0), JSON.stringify(done))
      const jobs = new Map<string, Map<string, string>>()
      for (const job of done) {
        const artifacts = new Map<string, string>()
        for (const a of job.artifacts) artifacts.set(a.name, sha256(await bytes(server, `/api/v1/jobs/${job.id}/artifacts/${a.name}`)))
        jobs.set(job.id, artifacts)
      }
      snapshot = {
        users: (await all<{ email: string }>(server, '/api/v1/admin/users')).map((u) => u.email).sort(),
        files: new Map(files.map((f) => [f.id, f.sha256])),
        jobs
      }
      deleted = files[2]!.id
      // A job queued just before, so it runs while the backup does.
      const pending = (await api<JobRow>(server, 'POST', '/api/v1/jobs', { fileId: files[0]!.id, type: 'analyze' })).body.id

      let backingUp = true
      const backup = tympan(['admin', 'backup', backupDir], original).finally(() => { backingUp = false })
      const traffic = (async () => {
        await sleep(50)
        assert.equal((await api(server, 'DELETE', `/api/v1/files/${deleted}`)).status, 204)
        while (backingUp && during.length < 20) {
          during.push((await upload(server, `during-${during.length}.wav`)).id)
          await sleep(200)
        }
      })()
      ;[backupOutput] = await Promise.all([backup, traffic])
      assert.equal(backupOutput.code, 0, backupOutput.stderr)
      assert.match(backupOutput.stdout, /Backed up 1 user\(s\), \d+ file\(s\) and 3 job\(s\) from the running server/)
      assert.ok(during.length > 0, 'uploads were accepted while the backup ran')
      // The held delete ran once the backup released it.
      assert.equal((await api(server, 'GET', `/api/v1/files/${deleted}`)).status, 404)
      await waitForJobs(server, [pending])
    } finally {
      await server.stop()
    }
    assert.ok(!fs.existsSync(path.join(original, 'control.sock')), 'the server removes its control socket on the way out')
    const manifest = JSON.parse(fs.readFileSync(path.join(backupDir, 'manifest.json'), 'utf8')) as { objects: Array<{ id: string }> }
    for (const id of snapshot.files.keys()) {
      if (id !== deleted) assert.ok(manifest.objects.some((o) => o.id === id), `file ${id} is in the backup`)
    }
    assert.equal(fs.statSync(backupDir).mode & 0o777, 0o700)
  })

  it('restores into a fresh data directory, and a server on it has the same users, files, jobs and downloads', async () => {
    const res = await tympan(['admin', 'restore', backupDir], restored)
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /Restored 1 user\(s\)/)
    assert.deepEqual(listing(root).filter((name) => name.includes('.restoring-')), [], 'no staging directory is left')
    const server = await startServer(restored)
    try {
      assert.deepEqual((await all<{ email: string }>(server, '/api/v1/admin/users')).map((u) => u.email).sort(), snapshot.users)
      const files = await all<FileRow>(server, '/api/v1/files')
      const ids = new Set(files.map((f) => f.id))
      for (const id of snapshot.files.keys()) {
        if (id !== deleted) assert.ok(ids.has(id), `file ${id} is restored`)
      }
      for (const file of files) {
        assert.ok(snapshot.files.has(file.id) || during.includes(file.id), `${file.id} was uploaded before or during the backup`)
        // Every row has its object, byte for byte: the pair is consistent.
        assert.equal(sha256(await bytes(server, `/api/v1/files/${file.id}/content`)), file.sha256)
        if (snapshot.files.has(file.id)) assert.equal(file.sha256, snapshot.files.get(file.id))
      }
      const jobs = await all<JobRow>(server, '/api/v1/jobs')
      for (const [id, artifacts] of snapshot.jobs) {
        const job = jobs.find((j) => j.id === id)
        assert.equal(job?.status, 'succeeded', `job ${id} is restored`)
        for (const [name, hash] of artifacts) assert.equal(sha256(await bytes(server, `/api/v1/jobs/${id}/artifacts/${name}`)), hash)
      }
      assert.equal(jobs.length, 3, 'the job that ran during the backup is there too')
      // The restored server works: a new upload and job on it.
      const next = await upload(server)
      const [job] = await waitForJobs(server, [(await api<JobRow>(server, 'POST', '/api/v1/jobs', { fileId: next.id, type: 'analyze' })).body.id])
      assert.equal(job!.status, 'succeeded')

      const busy = await tympan(['admin', 'restore', backupDir], restored)
      assert.equal(busy.code, 1)
      assert.match(busy.stderr, new RegExp(`A server \\(process ${server.pid}\\) is running on`))
    } finally {
      await server.stop()
    }
  })

  it('refuses to restore onto a non-empty data directory, and leaves it as it was', async () => {
    const was = listing(original).sort()
    const res = await tympan(['admin', 'restore', backupDir], original)
    assert.equal(res.code, 1)
    assert.match(res.stderr, /is not empty: restore only into a new, empty data directory/)
    assert.deepEqual(listing(original).sort(), was)
  })

  it('backs up offline when no server runs', async () => {
    const offline = path.join(root, 'offline')
    const res = await tympan(['admin', 'backup', offline], original)
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /^Backed up 1 user\(s\), \d+ file\(s\) and 3 job\(s\): /)
    assert.ok(fs.existsSync(path.join(offline, 'manifest.json')))
    const again = await tympan(['admin', 'backup', offline], original)
    assert.equal(again.code, 1)
    assert.match(again.stderr, /is not empty: back up into a new or empty directory/)
  })

  it('refuses a tampered backup with what does not match, and restores nothing', async () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(backupDir, 'manifest.json'), 'utf8')) as { objects: Array<{ id: string }> }
    const victim = manifest.objects[0]!.id
    const file = path.join(backupDir, 'objects', victim.slice(0, 2), victim)
    const content = fs.readFileSync(file)
    content[content.length - 1]! ^= 0xff
    fs.writeFileSync(file, content)
    const target = path.join(root, 'tampered')
    const res = await tympan(['admin', 'restore', backupDir], target)
    assert.equal(res.code, 1)
    assert.match(res.stderr, new RegExp(`does not match its manifest: object ${victim} has \\d+ bytes with sha256 [0-9a-f]{64}, the manifest says`))
    assert.deepEqual(listing(target).filter((name) => name !== 'secrets.json'), [], 'nothing restored')
    assert.deepEqual(listing(root).filter((name) => name.includes('.restoring-')), [])

    fs.rmSync(file)
    const missing = await tympan(['admin', 'restore', backupDir], target)
    assert.match(missing.stderr, new RegExp(`object ${victim} is missing`))

    fs.writeFileSync(path.join(backupDir, 'manifest.json'), '{"format":"tympan-backup","version":9}')
    const edited = await tympan(['admin', 'restore', backupDir], target)
    assert.match(edited.stderr, /backup format version 9 is not supported/)
    fs.rmSync(path.join(backupDir, 'manifest.json'))
    const none = await tympan(['admin', 'restore', backupDir], target)
    assert.match(none.stderr, /is not a backup: it has no manifest\.json/)
  })

  it('on PostgreSQL explains pg_dump and bucket versioning instead', async () => {
    for (const command of ['backup', 'restore']) {
      const res = await tympan(['admin', command, path.join(root, 'pg')], path.join(root, 'pg-data'), { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' })
      assert.equal(res.code, 1)
      assert.match(res.stderr, /pg_dump/)
      assert.match(res.stderr, /bucket versioning/)
    }
    const usage = await tympan(['admin', 'backup'], path.join(root, 'pg-data'))
    assert.equal(usage.code, 1)
    assert.match(usage.stderr, /expected: tympan admin backup DIR/)
  })
})

describe('createBackup in the server process: a delete during the copy', () => {
  it('waits until the backup has copied the object, then runs, and the restored pair is whole', async () => {
    const test = await openTestDb('pglite')
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-bk-hold-'))
    try {
      const pglite = test.db.pglite!
      const base = localStorage(path.join(dir, 'store'))
      const deletes = deferrableDeletes(base)
      const [{ id: owner }] = (await pglite.query<{ id: string }>("INSERT INTO users (email, role) VALUES ('hold@backup.test', 'member') RETURNING id")).rows as [{ id: string }]
      const ids: string[] = []
      for (const text of ['first object', 'second object']) {
        const id = randomUUID()
        await base.write(id, Readable.from([Buffer.from(text)]))
        await pglite.query(`INSERT INTO files (id, owner_id, name, format, content_type, size, sha256, duration_sec, sample_rate, channels, codec, source, expires_at)
          VALUES ($1, $2, 'a.wav', 'wav', 'audio/wav', $3, $4, 1, 8000, 1, 'pcm_s16le', 'upload', now() + interval '1 day')`, [id, owner, text.length, sha256(Buffer.from(text))])
        ids.push(id)
      }
      // As the API does: the row goes, then the object, through the server's wrapped store,
      // while the backup copies the first object of its list; that copy goes on only once the
      // delete has answered, so without the hold the second object would be gone by then.
      let deleting: Promise<void> | undefined
      const reading: Storage = {
        ...base,
        read (id, range) {
          deleting ??= (async () => {
            const victim = ids.find((other) => other !== id)!
            await pglite.query('DELETE FROM files WHERE id = $1', [victim])
            await deletes.storage.delete(victim)
          })()
          const out = new PassThrough()
          deleting.then(() => base.read(id, range).pipe(out), (error: unknown) => out.destroy(error as Error))
          return out
        }
      }
      const target = path.join(dir, 'backup')
      const summary = await createBackup({ pglite, storage: reading, holdDeletes: deletes.hold }, target)
      await deleting
      assert.equal(summary.objects, 2, 'both objects the snapshot references were copied')
      assert.equal(summary.absent, 0)
      for (const id of ids) assert.ok(fs.existsSync(path.join(target, 'objects', id.slice(0, 2), id)))
      // Released: the held delete ran once the copy was done; the live pair is whole too.
      const [kept] = (await pglite.query<{ id: string }>('SELECT id FROM files')).rows
      assert.deepEqual(await Promise.all(ids.map((id) => base.exists(id))), ids.map((id) => id === kept!.id))

      const restoredDir = path.join(dir, 'restored')
      const restored = await restoreBackup(target, restoredDir)
      assert.deepEqual(restored.counts, { users: 1, files: 2, jobs: 0 })
      const store = localStorage(path.join(restoredDir, 'files'))
      for (const id of ids) assert.ok(await store.exists(id), `object ${id} is restored beside its row`)
    } finally {
      await test.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
