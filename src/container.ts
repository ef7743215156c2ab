import type { FastifyBaseLogger } from 'fastify'
import { auditRepository } from './audit/audit.repository.ts'
import { auditService } from './audit/audit.service.ts'
import { auditRetention } from './audit/audit-retention.ts'
import type { Config } from './config/config.ts'
import type { Db } from './db/database.ts'
import type { Metrics } from './observability/metrics.ts'
import { authService } from './modules/auth/auth.service.ts'
import { csrfCodec } from './modules/auth/csrf.ts'
import { loginThrottleRepository } from './modules/auth/login-throttle.repository.ts'
import type { PrincipalUser } from './access/permissions.ts'
import type { RevocationBus } from './modules/auth/revocation-bus.ts'
import { sessionsRepository } from './modules/auth/sessions.repository.ts'
import { sessionsService } from './modules/auth/sessions.service.ts'
import { tokenCodec } from './modules/auth/tokens.ts'
import { keysRepository } from './modules/keys/keys.repository.ts'
import { keysService } from './modules/keys/keys.service.ts'
import { usersRepository } from './modules/users/users.repository.ts'
import { usersService } from './modules/users/users.service.ts'
import { initialPasswordChosen } from './modules/users/bootstrap.ts'
import { initialPasswordFile } from './config/initial-password-file.ts'
import { healthService } from './modules/health/health.service.ts'
import { filesRepository } from './modules/files/files.repository.ts'
import { filesService } from './modules/files/files.service.ts'
import { mediaTools } from './media/probe.ts'
import { retentionSweeper } from './modules/files/retention.ts'
import { objectReferencesRepository } from './modules/files/objects.repository.ts'
import { orphanCollector } from './modules/files/orphan-objects.ts'
import { resumableStore } from './modules/files/resumable-store.ts'
import { resumableRepository } from './modules/files/resumable.repository.ts'
import { resumableService } from './modules/files/resumable.service.ts'
import type { FileStores } from './storage/storage.ts'
import { createEngines } from './engines/registry.ts'
import { enginesService } from './modules/engines/engines.service.ts'
import { jobEventStreams } from './modules/jobs/jobs.event-stream.ts'
import { jobSignals } from './modules/jobs/jobs.events.ts'
import { assertHandlers, jobHandlers } from './modules/jobs/jobs.handlers.ts'
import { jobQueue, queueSettings } from './modules/jobs/jobs.queue.ts'
import { jobRunner } from './modules/jobs/jobs.runner.ts'
import { jobsRepository } from './modules/jobs/jobs.repository.ts'
import { jobsRetention } from './modules/jobs/jobs.retention.ts'
import { jobsService } from './modules/jobs/jobs.service.ts'
import { streamLimiter } from './modules/jobs/jobs.stream-limit.ts'
import type { SlotStore } from './guard/slot.store.ts'
import { translationLogsRepository } from './modules/translate/translate.repository.ts'
import { translationService } from './modules/translate/translate.service.ts'
import os from 'node:os'

/** Wires repositories into services. Each service gets only what it uses. */
export function createContainer (config: Config, db: Db, { storage, workspace }: FileStores, log: FastifyBaseLogger, options: { serviceUser?: PrincipalUser, revocations?: RevocationBus, metrics?: Metrics, eventStreamBeatMs?: number, streamSlots?: SlotStore } = {}) {
  const changed = async () => { await options.revocations?.publish() }
  const repos = {
    users: usersRepository(db.kysely, changed),
    sessions: sessionsRepository(db.kysely, changed),
    keys: keysRepository(db.kysely, changed),
    throttle: loginThrottleRepository(db.kysely),
    auditLog: auditRepository(db.kysely),
    files: filesRepository(db.kysely),
    resumableUploads: resumableRepository(db.kysely),
    jobs: jobsRepository(db.kysely),
    translationLogs: translationLogsRepository(db.kysely),
    objectReferences: objectReferencesRepository(db.kysely)
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
  const sessions = sessionsService({ sessions: repos.sessions, refreshIdleDays: config.auth.refreshIdleDays })
  const files = filesService({ config, files: repos.files, storage, workspace, media: mediaTools(), metrics: options.metrics })
  const engines = createEngines({ whisperBin: config.jobs.whisperBin, whisperModel: config.jobs.whisperModel, soundfont: config.jobs.soundfont })
  const engineStatus = enginesService(engines)
  const signals = jobSignals(db, log)
  const queue = jobQueue(db, queueSettings(config), log)
  const jobs = jobsService({ config, jobs: repos.jobs, files: repos.files, storage, queue, signals, engines: engineStatus, translationPairs: async () => (await engines.translate.languages()).pairs })
  const jobRetention = jobsRetention({ deleteAfterProcessing: config.jobs.deleteAfterProcessing, jobs: repos.jobs, files: repos.files, storage, workspace, service: jobs, audit })
  const { perUser, perAddress, perInternalKey, maxLifeMs } = config.jobs.eventStreams
  const eventStreams = jobEventStreams({
    jobs,
    signals,
    auth,
    limiter: streamLimiter({ user: perUser, address: perAddress, internal_key: perInternalKey }, options.streamSlots),
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
    workspace,
    queue,
    signals,
    handlers,
    parallelism: os.availableParallelism(),
    retentionMs: config.intake.retentionHours * 3_600_000,
    maxRunning: config.jobs.maxRunning,
    fileProcessed: jobRetention.fileProcessed,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    log
  })
  const translation = translationService({
    translator: engines.translate,
    logs: repos.translationLogs,
    logText: config.translation.logText,
    logRetentionDays: config.translation.logRetentionDays,
    textRetentionHours: config.intake.retentionHours
  })
  const resumable = resumableStore(workspace, config)
  const resumableUploads = resumableService({ config, uploads: repos.resumableUploads, files, store: resumable })
  const users = usersService({
    oneTimePasswordHours: config.auth.oneTimePasswordHours,
    passwordChosen: initialPasswordChosen(config, initialPasswordFile(config.dataDir)),
    users: repos.users, sessions: repos.sessions, keys: repos.keys, throttle: repos.throttle, auditLog: repos.auditLog,
    personalData: [files.personalData, resumableUploads.personalData, jobs.personalData, translation.personalData],
    reauthenticate: auth.reauthenticate
  })
  const retention = retentionSweeper({
    files: repos.files,
    storage,
    workspace,
    audit,
    resumable: resumableUploads,
    jobs: jobRetention,
    translationLogs: translation,
    auditLog: auditRetention({ repository: repos.auditLog, audit, retentionDays: config.logs.auditRetentionDays }),
    orphans: orphanCollector({ storage, references: repos.objectReferences, audit, graceMs: config.orphanObjectGraceMs, everyMs: 3_600_000 }),
    log
  })
  const health = healthService([{ what: 'database', ping: () => db.ping() }, { what: 'file storage', ping: () => storage.ping() }])
  return { repos, audit, health, users, auth, sessions, keys: keysService(repos.keys), files, storage, workspace, retention, resumable, resumableUploads, engines: engineStatus, jobs, eventStreams, queue, signals, runner, translation }
}

export type Container = ReturnType<typeof createContainer>
