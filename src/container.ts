import type { FastifyBaseLogger } from 'fastify'
import { auditRepository } from './audit/audit.repository.ts'
import { auditService } from './audit/audit.service.ts'
import type { Config } from './config/config.ts'
import type { Db } from './db/database.ts'
import type { Metrics } from './guard/metrics.ts'
import { authService } from './modules/auth/auth.service.ts'
import { csrfCodec } from './modules/auth/csrf.ts'
import { loginThrottleRepository } from './modules/auth/login-throttle.repository.ts'
import type { PrincipalUser } from './modules/auth/permissions.ts'
import type { RevocationBus } from './modules/auth/revocation-bus.ts'
import { sessionsRepository } from './modules/auth/sessions.repository.ts'
import { tokenCodec } from './modules/auth/tokens.ts'
import { keysRepository } from './modules/keys/keys.repository.ts'
import { keysService } from './modules/keys/keys.service.ts'
import { usersRepository } from './modules/users/users.repository.ts'
import { usersService } from './modules/users/users.service.ts'
import { filesRepository } from './modules/files/files.repository.ts'
import { filesService } from './modules/files/files.service.ts'
import { mediaTools } from './media/probe.ts'
import { retentionSweeper } from './modules/files/retention.ts'
import { resumableStore } from './modules/files/resumable-store.ts'
import type { Storage } from './storage/storage.ts'

/** Wires repositories into services. Each service gets only what it uses. */
export function createContainer (config: Config, db: Db, storage: Storage, log: FastifyBaseLogger, options: { serviceUser?: PrincipalUser, revocations?: RevocationBus, metrics?: Metrics } = {}) {
  const changed = async () => { await options.revocations?.publish() }
  const repos = {
    users: usersRepository(db.kysely, changed),
    sessions: sessionsRepository(db.kysely, changed),
    keys: keysRepository(db.kysely, changed),
    throttle: loginThrottleRepository(db.kysely),
    auditLog: auditRepository(db.kysely),
    files: filesRepository(db.kysely)
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
  const users = usersService({
    users: repos.users, sessions: repos.sessions, keys: repos.keys, throttle: repos.throttle, auditLog: repos.auditLog, personalData: [files.personalData]
  })
  const resumable = resumableStore(storage, config)
  const retention = retentionSweeper({
    files: repos.files,
    storage,
    audit,
    cleanUpResumable: async () => (await resumable()).deleteExpired(),
    log
  })
  return { repos, audit, users, auth, keys: keysService(repos.keys), files, storage, retention, resumable }
}

export type Container = ReturnType<typeof createContainer>
