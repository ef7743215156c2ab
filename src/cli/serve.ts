import closeWithGrace from 'close-with-grace'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { Db } from '../db/database.ts'
import { openLogging, type Logging } from '../http/logger.ts'
import { buildApp } from '../app.ts'
import { bootstrapAdmin, removeSpentInitialPassword } from '../modules/users/bootstrap.ts'
import { initialPasswordFile } from '../config/initial-password-file.ts'
import { developmentWarnings } from '../config/config.ts'
import { deferrableDeletes } from '../storage/deferred-deletes.ts'
import { fileStoresFor } from '../storage/file-stores.ts'
import type { Storage } from '../storage/storage.ts'
import { backupCovers, createBackup } from './backup.ts'
import { controlSocketPath, listenControl, type ControlServer } from './control-socket.ts'
import { collectBuffersYoung } from './gc-tuning.ts'
import { openRuntime } from './runtime.ts'

const HOUSEKEEPING_MS = 3_600_000

export async function serve (): Promise<void> {
  collectBuffersYoung()
  const { config, db, applied } = await openRuntime()
  const logging = await openLogging(config).catch((error: unknown) => abortStart(error, db))
  const abort = (error: unknown, app?: FastifyInstance) => abortStart(error, db, app, logging)
  const files = await fileStoresFor(config, db).catch((error: unknown) => abort(error))
  // An online backup (`tympan admin backup`) holds object deletes while it copies.
  const deletes = deferrableDeletes(files.storage)
  const app = await buildApp({ config, db, stores: { ...files, storage: deletes.storage }, loggerInstance: logging.logger as FastifyBaseLogger }).catch((error: unknown) => abort(error))
  if (applied.length > 0) app.log.info({ applied }, 'database migrated')
  for (const warning of [...developmentWarnings(config), ...files.warnings]) app.log.warn(warning)

  const passwordFile = initialPasswordFile(config.dataDir)
  const boot = await bootstrapAdmin(config, app.container.users).catch((error: unknown) => abort(error, app))
  if (boot.admin) app.log.info({ userId: boot.admin.id, email: boot.admin.email }, 'created the first admin')
  if (boot.admin && boot.generatedPassword) {
    const { email } = boot.admin
    const hours = config.auth.oneTimePasswordHours
    if (process.stderr.isTTY) {
      // The terminal, never the JSON log: log pipelines keep lines forever.
      process.stderr.write(`\n  First start: admin account ${email}\n  One-time password: ${boot.generatedPassword}\n  (shown once; valid ${hours} h, and it must be changed at first sign-in; or run: tympan admin user reset-password ${email})\n\n`)
    } else {
      // Under systemd or Docker stderr is the log too: the secret goes to a file only its owner reads.
      await passwordFile.write(boot.generatedPassword).catch((error: unknown) => abort(
        new Error(`could not write the first admin's password to ${passwordFile.path} (run: tympan admin user reset-password ${email})`, { cause: error }), app))
      app.log.warn({ email, file: passwordFile.path, validHours: hours }, 'first admin created: its one-time password is in the file; sign in and change it (the file is removed then)')
    }
  } else if (await removeSpentInitialPassword(config, app.container.users, passwordFile)) {
    app.log.info({ file: passwordFile.path }, 'removed the spent first-admin password file')
  }

  const housekeeping = setInterval(() => {
    const now = new Date()
    const { sessions, throttle } = app.container.repos
    Promise.all([sessions.purgeExpired(now), throttle.purgeStale(new Date(now.getTime() - HOUSEKEEPING_MS), now)])
      .catch((error: unknown) => app.log.error({ err: error }, 'auth housekeeping failed'))
  }, HOUSEKEEPING_MS)
  housekeeping.unref()
  const sweeping = setInterval(() => {
    app.container.retention.sweep().catch((error: unknown) => app.log.error({ err: error }, 'retention sweep failed'))
  }, config.intake.sweepIntervalMs)
  sweeping.unref()

  // Stop accepting, let in-flight requests finish, then close the database. Installed before
  // listening, so that once "Server listening" is logged a stop is always graceful; a failed
  // listen uninstalls it first: close-with-grace exits 0 on beforeExit, which would hide it.
  let control: Promise<ControlServer | undefined> = Promise.resolve(undefined)
  const shutdown = closeWithGrace({ delay: config.limits.shutdownGraceMs }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after a fatal error')
    else app.log.info({ signal }, 'shutting down')
    clearInterval(housekeeping)
    clearInterval(sweeping)
    await (await control)?.close()
    await app.close()
    await db.close()
    // close-with-grace exits when this returns: the last lines must be written by then.
    await logging.flush()
  })
  await app.listen({ host: config.host, port: config.port }).catch((error: unknown) => {
    shutdown.uninstall()
    return abort(error, app)
  })
  // The backup copies objects as stored (ciphertext where encrypted) with the rows holding their keys.
  if (backupCovers(config)) control = startControl(config.dataDir, db, files.stored, deletes.hold, app.log)
  await control
}

/**
 * On the embedded database only this process can read it, so `tympan admin backup` asks it
 * through the control socket. A socket that cannot be made (a data directory path past the
 * 107-byte limit of Unix sockets) costs only the online backup: the server still serves.
 */
async function startControl (dataDir: string, db: Db, storage: Storage, holdDeletes: () => Promise<() => Promise<void>>, log: FastifyBaseLogger): Promise<ControlServer | undefined> {
  const { pglite } = db
  if (!pglite) return undefined
  const file = controlSocketPath(dataDir)
  // A delete deferred during the backup that then fails must not void a finished backup: the
  // object it leaves has no row any more, so the orphan collector removes it later.
  const holdLogged = async () => {
    const release = await holdDeletes()
    return async () => { await release().catch((error: unknown) => { log.warn({ err: error }, 'a delete deferred by the backup failed; the orphan sweep will remove the object') }) }
  }
  return await listenControl(file, (dir, encryption) => createBackup({ pglite, storage, holdDeletes: holdLogged }, dir, encryption), log).catch((error: unknown) => {
    log.warn({ err: error, file }, 'no control socket: tympan admin backup will not run while this server does')
    return undefined
  })
}

/**
 * A start that fails once the database is open (weak TYMPAN_ADMIN_PASSWORD, port in use) closes
 * it: an open PGlite keeps its lock file and holds the process for seconds. What was logged
 * before the failure is written out before main reports it.
 */
async function abortStart (error: unknown, db: Db, app?: FastifyInstance, logging?: Logging): Promise<never> {
  await app?.close().catch(() => {})
  await db.close().catch(() => {})
  await logging?.close().catch(() => {})
  throw error
}
