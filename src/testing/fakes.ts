import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { ROLE_SCOPES, type Principal } from '../access/permissions.ts'
import { parseEnv, type Config } from '../config/config.ts'
import type { AudioFile, Job, JobArtifact, JobEvent, JobStatus, Role, Tier, User } from '../db/schema.ts'
import type { NotifyChannel } from '../db/notify-channel.ts'
import type { FilesRepository } from '../modules/files/files.repository.ts'
import type { JobSignals } from '../modules/jobs/jobs.events.ts'
import type { Delivery, JobQueue, QueueMessage, SendOptions } from '../modules/jobs/jobs.queue.ts'
import type { JobsRepository } from '../modules/jobs/jobs.repository.ts'

/**
 * In-memory stand-ins for the repositories, queue and signals the services take as parameters
 * (storage is in fake-storage.ts), for unit tests without a database, ffmpeg or a network.
 * Each keeps the rule its real counterpart enforces in SQL (quota, unfinished-job limit, running slots, "only an
 * unfinished job ends"), so a service test exercises the service's own decisions on top.
 */

/**
 * A fake that implements only what a test needs: any other member throws when it is used, so
 * a service that starts calling something new fails its test instead of getting `undefined`.
 */
export function stub<T extends object> (name: string, members: Partial<T>): T {
  return new Proxy(members, {
    get (target, key) {
      if (key in target || typeof key === 'symbol' || key === 'then') return target[key as keyof typeof target]
      throw new Error(`${name}.${String(key)} was used, but this test's fake does not provide it`)
    }
  }) as T
}

export const testConfig = (env: Record<string, string> = {}): Config => parseEnv(env)

export function userRow (overrides: Partial<User> = {}): User {
  const at = new Date('2025-01-01T00:00:00Z')
  return {
    id: randomUUID(),
    email: `${randomUUID().slice(0, 8)}@example.org`,
    password_hash: null,
    role: 'member',
    tier: 'free',
    disabled: false,
    is_service: false,
    created_at: at,
    updated_at: at,
    password_changed_at: null,
    must_change_password: false,
    password_expires_at: null,
    ...overrides
  }
}

export function principalOf (user: User, kind: Principal['kind'] = 'session'): Principal {
  return { kind, userId: user.id, user, role: user.role, tier: user.tier, scopes: ROLE_SCOPES[user.role], viaCookie: false }
}

export const principal = (role: Role = 'member', tier: Tier = 'free'): Principal => principalOf(userRow({ role, tier }))

export function fileRow (ownerId: string, overrides: Partial<AudioFile> = {}): AudioFile {
  const now = Date.now()
  return {
    id: randomUUID(),
    owner_id: ownerId,
    name: 'talk.wav',
    format: 'wav',
    content_type: 'audio/wav',
    size: 1000,
    sha256: '0'.repeat(64),
    duration_sec: 3,
    sample_rate: 44100,
    channels: 2,
    codec: 'pcm_s16le',
    source: 'upload',
    source_url: null,
    created_at: new Date(now),
    expires_at: new Date(now + 3_600_000),
    ...overrides
  }
}

const newestFirst = <T extends { created_at: Date, id: string }>(a: T, b: T) =>
  b.created_at.getTime() - a.created_at.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)
const before = (row: { created_at: Date, id: string }, after?: { createdAt: Date, id: string }) =>
  !after || row.created_at < after.createdAt || (row.created_at.getTime() === after.createdAt.getTime() && row.id < after.id)

export type FakeFilesRepository = FilesRepository & {
  rows: Map<string, AudioFile>
  /** Open resumable uploads' declared sizes, by upload id. */
  reservations: Map<string, { ownerId: string, size: number }>
}

export function fakeFilesRepository (initial: AudioFile[] = []): FakeFilesRepository {
  const rows = new Map(initial.map((f) => [f.id, f]))
  const reservations = new Map<string, { ownerId: string, size: number }>()
  const usedBytes = (ownerId: string, excludingUpload?: string) =>
    [...rows.values()].filter((f) => f.owner_id === ownerId).reduce((sum, f) => sum + Number(f.size), 0) +
    [...reservations].filter(([id, r]) => r.ownerId === ownerId && id !== excludingUpload).reduce((sum, [, r]) => sum + r.size, 0)
  return {
    rows,
    reservations,
    usedBytes: async (ownerId) => usedBytes(ownerId),
    async insertWithinQuota (file, quotaBytes, options = {}) {
      const used = usedBytes(file.owner_id, options.replacingUpload)
      if (quotaBytes > 0 && used + Number(file.size) > quotaBytes) return { usedBytes: used }
      if (options.replacingUpload) reservations.delete(options.replacingUpload)
      const row: AudioFile = { ...file, created_at: new Date(file.created_at ?? Date.now()), expires_at: new Date(file.expires_at), source_url: file.source_url ?? null }
      rows.set(row.id, row)
      return { file: row }
    },
    findById: async (id) => rows.get(id),
    findLive: async (id, now = new Date()) => { const f = rows.get(id); return f && f.expires_at > now ? f : undefined },
    list: async (ownerId, limit, after, now = new Date()) =>
      [...rows.values()].filter((f) => f.owner_id === ownerId && f.expires_at > now && before(f, after)).sort(newestFirst).slice(0, limit),
    listAllForOwner: async (ownerId) => [...rows.values()].filter((f) => f.owner_id === ownerId),
    delete: async (id) => rows.delete(id),
    expired: async (now, limit) => [...rows.values()].filter((f) => f.expires_at <= now).slice(0, limit),
    async deleteExpired (id, now) {
      const f = rows.get(id)
      if (!f || f.expires_at > now) return undefined
      rows.delete(id)
      return f
    }
  }
}

function jobRow (fields: Partial<Job> & Pick<Job, 'id' | 'owner_id' | 'type'>): Job {
  return {
    file_id: null, params: {}, status: 'queued', progress: 0, stage: 'queued', attempts: 0, error: null, error_code: null,
    result: null, created_at: new Date(), started_at: null, finished_at: null, expires_at: null, ...fields
  }
}

export type FakeJobsRepository = JobsRepository & {
  rows: Map<string, Job>
  artifactRows: JobArtifact[]
  eventRows: JobEvent[]
  /** Puts a job in the store as it would be after some life (a running or finished job). */
  seed: (fields: Partial<Job> & Pick<Job, 'owner_id'>) => Job
}

const UNFINISHED = new Set(['queued', 'running'])

/**
 * `files` answers the "file still live and the owner's" check of insertWithinLimit; `tierOf`
 * gives an owner's tier for the running-slot count of start().
 */
export function fakeJobsRepository (options: { files?: FilesRepository, tierOf?: (ownerId: string) => Tier } = {}): FakeJobsRepository {
  const rows = new Map<string, Job>()
  const artifactRows: JobArtifact[] = []
  const eventRows: JobEvent[] = []
  let eventId = 0
  let clock = Date.now()
  const addEvent = (jobId: string, kind: JobEvent['kind'], data: Record<string, unknown>) => {
    eventRows.push({ id: ++eventId, job_id: jobId, kind, data, at: new Date() })
  }
  const update = (id: string, fields: Partial<Job>) => { rows.set(id, { ...rows.get(id)!, ...fields }) }
  // Distinct creation times, so list order and cursors are deterministic.
  const seed = (fields: Partial<Job> & Pick<Job, 'owner_id'>) => {
    const job = jobRow({ id: randomUUID(), type: 'analyze', created_at: new Date(++clock), ...fields })
    rows.set(job.id, job)
    return job
  }
  return {
    rows,
    artifactRows,
    eventRows,
    seed,
    async insertWithinLimit (job, maxUnfinished, now = new Date()) {
      if (job.fileId !== null) {
        const file = await options.files?.findLive(job.fileId, now)
        if (!file || file.owner_id !== job.ownerId) return { fileGone: true as const }
      }
      const unfinished = [...rows.values()].filter((j) => j.owner_id === job.ownerId && UNFINISHED.has(j.status)).length
      if (unfinished >= maxUnfinished) return { unfinished }
      const inserted = seed({ id: job.id, owner_id: job.ownerId, type: job.type, file_id: job.fileId, params: job.params })
      addEvent(job.id, 'status', { status: 'queued' })
      return { job: inserted }
    },
    findById: async (id) => rows.get(id),
    list: async (ownerId, limit, filter, after) => [...rows.values()]
      .filter((j) => j.owner_id === ownerId && (!filter.status || j.status === filter.status) && (!filter.type || j.type === filter.type) && before(j, after))
      .sort(newestFirst).slice(0, limit),
    listAllForOwner: async (ownerId) => [...rows.values()].filter((j) => j.owner_id === ownerId),
    async start (id, maxRunning) {
      const job = rows.get(id)
      if (!job) return undefined
      const running = [...rows.values()].filter((j) => j.owner_id === job.owner_id && j.status === 'running' && j.id !== id).length
      if (running >= maxRunning[options.tierOf?.(job.owner_id) ?? 'free']) return 'busy'
      if (!UNFINISHED.has(job.status)) return undefined
      update(id, { status: 'running', attempts: job.attempts + 1, progress: 0, stage: 'starting', error: null, error_code: null, started_at: job.started_at ?? new Date() })
      addEvent(id, 'status', { status: 'running', attempt: job.attempts + 1 })
      return rows.get(id)
    },
    async progress (id, progress, stage) {
      if (rows.get(id)?.status !== 'running') return false
      update(id, { progress, stage })
      addEvent(id, 'progress', { progress, stage })
      return true
    },
    async partial (id, data) {
      if (rows.get(id)?.status !== 'running') return false
      addEvent(id, 'partial', data)
      return true
    },
    async requeue (id, stage) {
      if (rows.get(id)?.status !== 'running') return false
      update(id, { status: 'queued', stage })
      addEvent(id, 'status', { status: 'queued', stage })
      return true
    },
    async finish (id, end) {
      const job = rows.get(id)
      if (!job || !UNFINISHED.has(job.status)) return false
      update(id, {
        status: end.status,
        result: end.result ?? null,
        error: end.error?.message ?? null,
        error_code: end.error?.code ?? null,
        progress: end.status === 'succeeded' ? 1 : job.progress,
        stage: end.status,
        finished_at: new Date(),
        expires_at: end.expiresAt
      })
      artifactRows.push(...end.artifacts ?? [])
      addEvent(id, 'status', { status: end.status, ...(end.error ? { error: end.error.message, errorCode: end.error.code } : {}) })
      return true
    },
    async delete (id) {
      if (!rows.delete(id)) return undefined
      const objects = artifactRows.filter((a) => a.job_id === id).map((a) => a.object_id)
      artifactRows.splice(0, artifactRows.length, ...artifactRows.filter((a) => a.job_id !== id))
      return objects
    },
    artifacts: async (jobId) => artifactRows.filter((a) => a.job_id === jobId),
    artifactsOf: async (jobIds) => artifactRows.filter((a) => jobIds.includes(a.job_id)),
    artifact: async (jobId, name) => artifactRows.find((a) => a.job_id === jobId && a.name === name),
    events: async (jobId, afterId) => eventRows.filter((e) => e.job_id === jobId && e.id > afterId),
    expired: async (now, limit) => [...rows.values()].filter((j) => j.expires_at && j.expires_at <= now && !UNFINISHED.has(j.status)).slice(0, limit),
    fileInUse: async (fileId, exceptJobId) => [...rows.values()].some((j) => j.file_id === fileId && UNFINISHED.has(j.status) && j.id !== exceptJobId),
    countsByTypeAndStatus: async () => {
      const groups = new Map<string, { type: string, status: JobStatus, count: number, oldest: Date }>()
      for (const j of rows.values()) {
        const key = `${j.type}\u0000${j.status}`
        const group = groups.get(key) ?? { type: j.type, status: j.status, count: 0, oldest: j.created_at }
        group.count++
        if (j.created_at < group.oldest) group.oldest = j.created_at
        groups.set(key, group)
      }
      return [...groups.values()].sort((a, b) => a.type.localeCompare(b.type) || a.status.localeCompare(b.status))
    }
  }
}

export type FakeQueue = JobQueue & {
  sent: { message: QueueMessage, options: SendOptions }[]
  canceled: string[]
  forgotten: string[]
  faults: { send?: Error }
  /** The handlers the runner registered with work() and workDeadLetters(). */
  workers: { jobs?: (delivery: Delivery) => Promise<void>, deadLetters?: (jobId: string) => Promise<void> }
}

export function fakeQueue (): FakeQueue {
  const sent: FakeQueue['sent'] = []
  const canceled: string[] = []
  const forgotten: string[] = []
  const faults: FakeQueue['faults'] = {}
  const workers: FakeQueue['workers'] = {}
  return {
    sent,
    canceled,
    forgotten,
    faults,
    workers,
    start: async () => {},
    async send (message, options) {
      if (faults.send) throw faults.send
      sent.push({ message, options })
    },
    async cancel (jobId) { canceled.push(jobId) },
    async forget (jobId) { forgotten.push(jobId) },
    async work (_concurrency, handler) { workers.jobs = handler },
    async workDeadLetters (handler) { workers.deadLetters = handler },
    stop: async () => {}
  }
}

export type FakeChannel = NotifyChannel & { published: string[] }

/** Delivers to this process's subscribers synchronously, as the real channel does. */
export function fakeChannel (): FakeChannel {
  const listeners = new Set<(payload: string | undefined) => void>()
  const published: string[] = []
  return {
    published,
    async publish (payload) {
      published.push(payload)
      for (const listener of listeners) listener(payload)
    },
    subscribe (listener) {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    },
    close: async () => {}
  }
}

export function fakeSignals (): JobSignals & { changed: FakeChannel, cancel: FakeChannel } {
  return { changed: fakeChannel(), cancel: fakeChannel(), close: async () => {} }
}

export interface LogEntry { level: string, object: unknown, message?: string }

/** A logger that keeps what it is given, for tests that check what was logged (and nothing is printed). */
export function memoryLog (): FastifyBaseLogger & { entries: LogEntry[] } {
  const entries: LogEntry[] = []
  const at = (level: string) => (object: unknown, message?: string) => { entries.push({ level, object, message }) }
  const log = {
    entries,
    level: 'info',
    fatal: at('fatal'),
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    trace: at('trace'),
    silent: () => {},
    child: () => log
  }
  return log as unknown as FastifyBaseLogger & { entries: LogEntry[] }
}

/** Resolves once `check` holds, polling; fails the test after `timeoutMs`. */
export async function eventually (check: () => boolean, timeoutMs = 1000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
