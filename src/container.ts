import type { FastifyBaseLogger } from 'fastify'
import { auditRepository } from './audit/audit.repository.ts'
import { auditService } from './audit/audit.service.ts'
import type { Config } from './config/config.ts'
import type { Db } from './db/database.ts'
import type { Metrics } from './observability/metrics.ts'
import { authService } from './modules/auth/auth.service.ts'
import { csrfCodec } from './modules/auth/csrf.ts'
import { loginThrottleRepository } from './modules/auth/login-throttle.repository.ts'
import type { PrincipalUser } from './access/permissions.ts'
import type { RevocationBus } from './modules/auth/revocation-bus.ts'
import { sessionsRepository } from './modules/auth/sessions.repository.ts'
import { tokenCodec } from './modules/auth/tokens.ts'
import { keysRepository } from './modules/keys/keys.repository.ts'
import { keysService } from './modules/keys/keys.service.ts'
import { usersRepository } from './modules/users/users.repository.ts'
import { usersService } from './modules/users/users.service.ts'
import { initialPasswordChosen } from './modules/users/bootstrap.ts'
import { initialPasswordFile } from './modules/users/initial-password-file.ts'
import { filesRepository } from './modules/files/files.repository.ts'
import { filesService } from './modules/files/files.service.ts'
import { mediaTools } from './media/probe.ts'
import { retentionSweeper } from './modules/files/retention.ts'
import { resumableStore } from './modules/files/resumable-store.ts'
import { resumableRepository } from './modules/files/resumable.repository.ts'
import { resumableService } from './modules/files/resumable.service.ts'
import type { Storage } from './storage/storage.ts'
import { createEngines } from './engines/registry.ts'
import { enginesService } from './modules/engines/engines.service.ts'
import { jobEventStreams } from './modules/jobs/jobs.event-stream.ts'
import { jobSignals } from './modules/jobs/jobs.events.ts'
import { assertHandlers, jobHandlers } from './modules/jobs/jobs.handlers.ts'
import { jobQueue } from './modules/jobs/jobs.queue.ts'
import { jobRunner } from './modules/jobs/jobs.runner.ts'
import { jobsRepository } from './modules/jobs/jobs.repository.ts'
import { jobsService } from './modules/jobs/jobs.service.ts'
import { streamLimiter } from './modules/jobs/jobs.stream-limit.ts'
import os from 'node:os'

const STALE_WORK_MS = 3_600_000
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Wires repositories into services. Each service gets only what it uses. */
export function createContainer (config: Config, db: Db, storage: Storage, log: FastifyBaseLogger, options: { serviceUser?: PrincipalUser, revocations?: RevocationBus, metrics?: Metrics, eventStreamBeatMs?: number } = {}) {
  const changed = async () => { await options.revocations?.publish() }
  const repos = {
    users: usersRepository(db.kysely, changed),
    sessions: sessionsRepository(db.kysely, changed),
    keys: keysRepository(db.kysely, changed),
    throttle: loginThrottleRepository(db.kysely),
    auditLog: auditRepository(db.kysely),
    files: filesRepository(db.kysely),
    resumableUploads: resumableRepository(db.kysely),
    jobs: jobsRepository(db.kysely)
  }
  const audit = auditService(repos.auditLog, log)
  const auth = authService({
    config,
    users: repos.users,
    sessions: repos.sessions,
    keys: repos.keys,
    throttle: repos.throttle,
    audit,
    tokens: tokenCodec(config.secrets.jwt, config.auth.accessTtlSec),
    csrf: csrfCodec(config.secrets.csrf),
    ...(options.serviceUser ? { serviceUser: options.serviceUser } : {}),
    ...(options.revocations ? { revocations: options.revocations } : {}),
    metrics: options.metrics
  })
  const files = filesService({ config, files: repos.files, storage, media: mediaTools(), metrics: options.metrics })
  const engines = createEngines({ whisperBin: config.jobs.whisperBin, whisperModel: config.jobs.whisperModel })
  const engineStatus = enginesService(engines)
  const signals = jobSignals(db, log)
  const queue = jobQueue(db, {
    heartbeatSec: config.jobs.heartbeatSec,
    retryLimit: config.jobs.retryLimit,
    runningPerUser: config.jobs.maxRunning,
    schema: config.jobs.queueSchema
  }, log)
  const jobs = jobsService({ config, jobs: repos.jobs, files: repos.files, storage, queue, signals, engines: engineStatus })
  const { perUser, perAddress, perInternalKey, maxLifeMs } = config.jobs.eventStreams
  const eventStreams = jobEventStreams({
    jobs,
    signals,
    auth,
    limiter: streamLimiter({ user: perUser, address: perAddress, internal_key: perInternalKey }),
    maxLifeMs,
    ...(options.revocations ? { revocations: options.revocations } : {}),
    ...(options.eventStreamBeatMs ? { keepAliveMs: options.eventStreamBeatMs } : {})
  })
  const handlers = jobHandlers(engines, config.jobs.transcribeEngine)
  assertHandlers(handlers)
  const runner = jobRunner({
    jobs: repos.jobs,
    files: repos.files,
    storage,
    queue,
    signals,
    handlers,
    parallelism: os.availableParallelism(),
    retentionMs: config.intake.retentionHours * 3_600_000,
    maxRunning: config.jobs.maxRunning,
    fileProcessed: async (fileId, jobId) => {
      if (!config.jobs.deleteAfterProcessing || await repos.jobs.fileInUse(fileId, jobId)) return
      const file = await repos.files.findById(fileId)
      if (!file || !await repos.files.delete(fileId)) return
      await storage.delete(fileId)
      await audit.record({ action: 'file.deleted_after_processing', status: 200, detail: { fileId, ownerId: file.owner_id } })
    },
    ...(options.metrics ? { metrics: options.metrics } : {}),
    log
  })
  const resumable = resumableStore(storage, config)
  const resumableUploads = resumableService({ config, uploads: repos.resumableUploads, files, store: resumable })
  const users = usersService({
    oneTimePasswordHours: config.auth.oneTimePasswordHours,
    passwordChosen: initialPasswordChosen(config, initialPasswordFile(config.dataDir)),
    users: repos.users, sessions: repos.sessions, keys: repos.keys, throttle: repos.throttle, auditLog: repos.auditLog,
    personalData: [files.personalData, resumableUploads.personalData, jobs.personalData],
    reauthenticate: auth.reauthenticate
  })
  const retention = retentionSweeper({
    files: repos.files,
    storage,
    audit,
    cleanUpResumable: (now) => resumableUploads.sweep(now),
    cleanUpJobs: async (now) => {
      // Attempt directories of workers that died mid-job (kill -9 skips their clean-up); a
      // job still running keeps its directory whatever its age.
      for (const entry of await storage.staleWork('jobs', STALE_WORK_MS)) {
        const jobId = entry.name.slice(0, 36)
        const job = UUID.test(jobId) ? await repos.jobs.findById(jobId) : undefined
        if (job?.status !== 'running') await storage.removeWork(entry.path)
      }
      let removed = 0
      for (;;) {
        const batch = await repos.jobs.expired(now, 100)
        for (const job of batch) {
          await jobs.remove(job.id)
          await audit.record({ action: 'job.expired', status: 200, detail: { jobId: job.id, ownerId: job.owner_id } })
        }
        removed += batch.length
        if (batch.length < 100) return removed
      }
    },
    log
  })
  return { repos, audit, users, auth, keys: keysService(repos.keys), files, storage, retention, resumable, resumableUploads, engines: engineStatus, jobs, eventStreams, queue, signals, runner }
}

export type Container = ReturnType<typeof createContainer>
