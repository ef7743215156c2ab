import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import pino from 'pino'
import { loadConfig } from '../config/load-config.ts'
import { createContainer } from '../container.ts'
import { openDatabase } from '../db/database.ts'
import { pgliteLockOwner } from '../db/pglite-lock.ts'
import { fileStoresFor, storedObjects } from '../storage/file-stores.ts'
import { rotateStorageKeys } from '../storage/key-rotation.ts'
import { objectKeysRepository } from '../storage/object-keys.repository.ts'
import { HttpProblem } from '../http/problem.ts'
import { ROLES, TIERS } from '../access/permissions.ts'
import { revocationBus } from '../modules/auth/revocation-bus.ts'
import { generatePassword } from '../modules/users/users.service.ts'
import { CliError, openRuntime, readStdin } from './runtime.ts'
import { ADMIN_HELP } from './help.ts'
import { backupCovers, createBackup, restoreBackup, type BackupSummary } from './backup.ts'
import { BackupKeyError, checkIdentity, keyLines, newBackupKey, type BackupSealing, type BackupSecret, type RestoreSecret } from './backup-crypto.ts'
import { MANIFEST } from './backup-manifest.ts'
import { askServer, controlSocketPath } from './control-socket.ts'


export async function adminCommand (argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      email: { type: 'string' },
      role: { type: 'string', default: 'member' },
      tier: { type: 'string', default: 'free' },
      'password-stdin': { type: 'boolean', default: false },
      // Backup encryption: secrets only from files or the environment, never argv (ps shows it).
      encrypt: { type: 'boolean', default: false },
      'passphrase-file': { type: 'string' },
      recipient: { type: 'string', multiple: true, default: [] },
      'recipient-file': { type: 'string', multiple: true, default: [] },
      'identity-file': { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  const [group, command, ...rest] = positionals
  if (group === 'sweep' && !values.help) return sweep()
  if (group === 'rotate-storage-key' && !values.help) return rotateStorageKey()
  if ((group === 'backup' || group === 'restore') && !values.help) {
    if (!command || rest.length > 0) throw new CliError(`expected: tympan admin ${group} DIR`)
    return group === 'backup' ? backup(command, values) : restore(command, values)
  }
  if (values.help || group !== 'user' || !command) {
    console.log(ADMIN_HELP)
    if (!values.help) throw new CliError('expected: tympan admin user <command>')
    return
  }
  const role = pick(values.role, ROLES, 'role')
  const tier = pick(values.tier, TIERS, 'tier')
  const password = async () => values['password-stdin'] ? readStdin() : undefined

  const { config, db } = await openRuntime()
  // Running servers cache credentials: every write that can end or shrink one (disable,
  // set-role, reset-password) tells them over the same bus as the HTTP admin API does, from
  // the repositories. On PGlite no server can be running while the CLI holds the database.
  const files = await fileStoresFor(config, db).catch(async (error: unknown) => { await db.close(); throw error })
  const revocations = revocationBus(db)
  const { users, signals } = createContainer(config, db, files, pino({ level: 'silent' }), { revocations })
  try {
    const byEmail = async (email: string | undefined) => {
      if (!email) throw new CliError(`tympan admin user ${command} needs an EMAIL`)
      const user = await users.findByEmail(email)
      if (!user || user.is_service) throw new CliError(`No user with email ${email}`)
      return user
    }
    switch (command) {
      case 'create': {
        if (!values.email) throw new CliError('create needs --email')
        const given = await password()
        const secret = given ?? generatePassword()
        const user = await users.create({ email: values.email, password: secret, role, tier, oneTime: true })
        console.log(`Created ${user.role} ${user.email} (${user.id})`)
        if (!given) console.log(`Password (shown once): ${secret}`)
        console.log(oneTimeNote(config.auth.oneTimePasswordHours))
        break
      }
      case 'list': {
        let cursor: string | undefined
        do {
          const page = await users.list(200, cursor)
          for (const u of page.items) console.log([u.id, u.email, u.role, u.tier, u.disabled ? 'disabled' : 'active'].join('\t'))
          cursor = page.nextCursor ?? undefined
        } while (cursor)
        break
      }
      case 'disable':
      case 'enable': {
        const user = await byEmail(rest[0])
        await users.update(user.id, { disabled: command === 'disable' })
        console.log(`${command === 'disable' ? 'Disabled' : 'Enabled'} ${user.email}`)
        break
      }
      case 'set-role': {
        const user = await byEmail(rest[0])
        await users.update(user.id, { role: pick(rest[1], ROLES, 'role') })
        console.log(`${user.email} is now ${rest[1]}`)
        break
      }
      case 'set-tier': {
        const user = await byEmail(rest[0])
        await users.update(user.id, { tier: pick(rest[1], TIERS, 'tier') })
        console.log(`${user.email} is now on the ${rest[1]} tier`)
        break
      }
      case 'reset-password': {
        const user = await byEmail(rest[0])
        const given = await password()
        const secret = given ?? generatePassword()
        await users.update(user.id, { password: secret })
        console.log(`Password reset for ${user.email}; all their sessions were ended.`)
        if (!given) console.log(`New password (shown once): ${secret}`)
        console.log(oneTimeNote(config.auth.oneTimePasswordHours))
        break
      }
      default:
        throw new CliError(`unknown command "admin user ${command}"\n\n${ADMIN_HELP}`)
    }
  } catch (error) {
    if (error instanceof HttpProblem) throw new CliError(error.message)
    throw error
  } finally {
    // Their LISTEN connections (PostgreSQL) would keep the process alive.
    await Promise.all([signals.close(), revocations.close()])
    await db.close()
  }
}

const oneTimeNote = (hours: number) =>
  `The password is one-time: it must be changed at first sign-in, and stops working after ${hours} h (then run reset-password again).`

async function sweep (): Promise<void> {
  const { config, db } = await openRuntime()
  try {
    const { retention, signals } = createContainer(config, db, await fileStoresFor(config, db), pino({ level: 'silent' }))
    try {
      const report = await retention.sweep()
      console.log(`Deleted ${report.expiredFiles} expired file(s), ${report.staleStaged} stale staged file(s), ${report.expiredResumable} abandoned resumable upload(s), ${report.expiredTranslationLogs} expired translation log row(s), ${report.expiredAuditRows} audit row(s) past AUDIT_RETENTION_DAYS, ${report.orphanObjects} orphaned object(s).`)
    } finally {
      await signals.close()
    }
  } finally {
    await db.close()
  }
}

async function rotateStorageKey (): Promise<void> {
  const config = loadConfig()
  const { current, previous } = config.storageEncryption
  if (!current) throw new CliError('tympan admin rotate-storage-key needs STORAGE_ENCRYPTION_KEY (the new key), with the keys in use until now in STORAGE_ENCRYPTION_PREVIOUS_KEYS (docs/operations.md, "Encryption at rest")')
  // The embedded database belongs to one process; PostgreSQL rotates while serving.
  const owner = config.databaseUrl ? undefined : pgliteLockOwner(path.join(config.dataDir, 'db'))
  if (owner) throw new CliError(`tympan serve (process ${owner}) holds the embedded database: stop it, run tympan admin rotate-storage-key, then start it again (already with the new key). With DATABASE_URL (PostgreSQL) the rotation runs while serving.`)
  const { db } = await openRuntime()
  // Ctrl-C or SIGTERM ends the run between two objects, never inside one's encryption.
  const stop = new AbortController()
  const onSignal = () => { stop.abort() }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    const files = await fileStoresFor(config, db)
    const summary = await rotateStorageKeys({
      signal: stop.signal,
      keys: { current, previous },
      objectKeys: objectKeysRepository(db.kysely),
      stored: files.stored,
      workspace: files.workspace,
      onPage: (done) => { if (process.stderr.isTTY) process.stderr.write(`\r${done.rewrapped} key(s) re-wrapped, ${done.encrypted} object(s) encrypted`) },
      onFailure: (objectId, reason) => { process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}object ${objectId}: its key was not re-wrapped: ${reason}\n`) }
    })
    if (process.stderr.isTTY) process.stderr.write('\n')
    if (summary.stopped) throw new CliError(`interrupted after re-wrapping ${summary.rewrapped} object key(s) and encrypting ${summary.encrypted} object(s): run tympan admin rotate-storage-key again to go on`)
    console.log(`Re-wrapped ${summary.rewrapped} object key(s) under key ${current.id} (no audio rewritten) and encrypted ${summary.encrypted} object(s) stored unencrypted.`)
    if (summary.absent > 0) console.log(`${summary.absent} file or artifact row(s) name no stored object (an upload still arriving, or an object lost): nothing to encrypt there.`)
    if (summary.failed > 0) throw new CliError(`${summary.failed} object key(s), listed above, could not be re-wrapped and stay as they were: keep STORAGE_ENCRYPTION_PREVIOUS_KEYS until they are dealt with (docs/operations.md, "Encryption at rest")`)
    if (previous.length > 0) console.log('Every object key is under the current key now: remove STORAGE_ENCRYPTION_PREVIOUS_KEYS and restart the servers and workers (keep the old keys for as long as you keep backups made with them).')
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await db.close()
  }
}

const SCALED_BACKUP = 'tympan admin backup and restore cover the embedded database (PGlite) and the files under TYMPAN_DATA_DIR. With DATABASE_URL or a STORAGE_URL elsewhere, back up PostgreSQL with pg_dump (restore with pg_restore) and the object store with bucket versioning or its own replication: docs/operations.md, "Backup and restore".'

interface KeyOptions {
  encrypt: boolean
  'passphrase-file'?: string
  recipient: string[]
  'recipient-file': string[]
  'identity-file': string[]
}

const PASSPHRASE_ENV = 'TYMPAN_BACKUP_PASSPHRASE'
const NO_ARGV_SECRET = 'never a passphrase on the command line: ps shows it to every user'

function readKeyFile (file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch (error) {
    throw new CliError(`cannot read the ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
}

/** The passphrase from --passphrase-file (its one trailing newline dropped), else from the environment. */
function passphrase (values: KeyOptions): string | undefined {
  const file = values['passphrase-file']
  const given = file === undefined ? process.env[PASSPHRASE_ENV] : readKeyFile(file, '--passphrase-file').replace(/\r?\n$/, '')
  if (given === '') throw new CliError(`the passphrase ${file === undefined ? `in ${PASSPHRASE_ENV}` : `file ${file}`} is empty`)
  return given
}

/** How to seal a new backup, or undefined for an unencrypted one. Explicit options win over the environment. */
async function backupSecret (values: KeyOptions): Promise<BackupSealing | undefined> {
  const recipientFiles = values['recipient-file']
  if (!values.encrypt) {
    if (values['passphrase-file'] !== undefined || values.recipient.length > 0 || recipientFiles.length > 0) throw new CliError('--passphrase-file, --recipient and --recipient-file go with --encrypt')
    // A job that sets the passphrase expects encrypted backups: never a plain one by a forgotten flag.
    if (process.env[PASSPHRASE_ENV]) throw new CliError(`${PASSPHRASE_ENV} is set but --encrypt is not given: add --encrypt, or unset it for an unencrypted backup`)
    return undefined
  }
  const recipients = [...values.recipient, ...recipientFiles.flatMap((file) => keyLines(readKeyFile(file, '--recipient-file')))]
  if (values['passphrase-file'] !== undefined && recipients.length > 0) throw new CliError('a backup is sealed with a passphrase or with recipients, not both (age cannot mix them)')
  const given = recipients.length > 0 ? undefined : passphrase(values)
  const secret: BackupSecret | undefined = recipients.length > 0 ? { recipients } : given !== undefined ? { passphrase: given } : undefined
  if (!secret) throw new CliError(`--encrypt needs --passphrase-file FILE or ${PASSPHRASE_ENV}, or a public key: --recipient age1… or --recipient-file FILE (${NO_ARGV_SECRET})`)
  try {
    return await newBackupKey(secret)
  } catch (error) {
    if (error instanceof BackupKeyError) throw new CliError(error.message)
    throw error
  }
}

/** What opens an encrypted backup, or undefined. Explicit options win over the environment. */
function restoreSecret (values: KeyOptions): RestoreSecret | undefined {
  if (values.encrypt || values.recipient.length > 0 || values['recipient-file'].length > 0) throw new CliError('restore finds out by itself whether a backup is encrypted: it takes --passphrase-file or --identity-file (or TYMPAN_BACKUP_PASSPHRASE), not --encrypt or recipients')
  const files = values['identity-file']
  if (files.length > 0) {
    if (values['passphrase-file'] !== undefined) throw new CliError('give --passphrase-file or --identity-file, not both')
    const identities = files.flatMap((file) => keyLines(readKeyFile(file, '--identity-file')).map((line) => {
      try {
        return checkIdentity(line, file)
      } catch (error) {
        throw new CliError((error as Error).message)
      }
    }))
    if (identities.length === 0) throw new CliError(`no age identity in ${files.join(', ')}`)
    return { identities }
  }
  const given = passphrase(values)
  return given === undefined ? undefined : { passphrase: given }
}

async function backup (dir: string, keyOptions: KeyOptions): Promise<void> {
  const config = loadConfig()
  if (!backupCovers(config)) throw new CliError(SCALED_BACKUP)
  const encryption = await backupSecret(keyOptions)
  const target = path.resolve(dir)
  const online = await askServer<BackupSummary>(controlSocketPath(config.dataDir), { command: 'backup', dir: target, ...(encryption ? { encryption } : {}) })
  if (online && !online.ok) throw new CliError(`the running server could not back up: ${online.error}`)
  // The server writes DIR itself: a sandbox (systemd's PrivateTmp, a read-only path) can send
  // its files somewhere this process does not see. Only a manifest here proves the backup.
  if (online?.ok && !fs.existsSync(path.join(target, MANIFEST))) {
    throw new CliError(`the running server reported a backup in ${target}, but no ${MANIFEST} is there as this user sees it: the server's sandbox hides or redirects that path (systemd's PrivateTmp, ReadWritePaths). Back up into a directory the server may write, such as /var/backups/tympan (docs/operations.md).`)
  }
  // A server still running an older release ignores the encryption it does not know.
  if (online?.ok && encryption && !online.result.encrypted) {
    for (const name of fs.readdirSync(target)) fs.rmSync(path.join(target, name), { recursive: true, force: true })
    throw new CliError(`the running server is an older Tympan that cannot encrypt backups; the unencrypted backup it wrote into ${target} was deleted. Restart the server on this release, then back up again.`)
  }
  let summary: BackupSummary
  if (online?.ok) {
    summary = online.result
  } else {
    const pgliteDir = path.join(config.dataDir, 'db')
    if (!fs.existsSync(pgliteDir)) throw new CliError(`There is no embedded database in ${config.dataDir} (TYMPAN_DATA_DIR) to back up.`)
    // No migrations: a backup changes nothing, and restores the schema it found.
    const db = await openDatabase({ databaseUrl: '', pgliteDir })
    try {
      // As stored (ciphertext where encrypted): the database dump holds the rows with their keys.
      summary = await createBackup({ pglite: db.pglite!, storage: storedObjects(config), holdDeletes: async () => async () => {} }, target, encryption)
    } finally {
      await db.close()
    }
  }
  const { users, files, jobs } = summary.counts
  console.log(`Backed up ${users} user(s), ${files} file(s) and ${jobs} job(s)${online ? ' from the running server' : ''}: the database and ${summary.objects} object(s), ${(summary.bytes / 1e6).toFixed(1)} MB, into ${summary.dir}${summary.encrypted ? `, encrypted with age (its key in key.age, sealed with ${encryption?.sealedWith === 'passphrase' ? 'the passphrase' : 'the recipients'})` : ''}.`)
  if (summary.absent > 0) console.log(`${summary.absent} upload(s) were still arriving; the restore leaves them out.`)
}

async function restore (dir: string, keyOptions: KeyOptions): Promise<void> {
  const config = loadConfig()
  if (!backupCovers(config)) throw new CliError(SCALED_BACKUP)
  const secret = restoreSecret(keyOptions)
  const summary = await restoreBackup(path.resolve(dir), config.dataDir, secret)
  const { users, files, jobs } = summary.counts
  console.log(`Restored ${users} user(s), ${files} file(s), ${jobs} job(s) and ${summary.objects} object(s) from the ${summary.encrypted ? 'encrypted (verified) ' : ''}backup of ${summary.createdAt} (Tympan ${summary.tympan}) into ${summary.dataDir}.`)
  console.log('Start the server with the same secrets (JWT_SECRET_KEY, CSRF_SECRET_KEY, SESSION_SECRET_KEY) to keep sessions; it applies any newer migrations as it starts.')
}

function pick<T extends string> (value: string | undefined, allowed: readonly T[], what: string): T {
  if (!value || !allowed.includes(value as T)) throw new CliError(`${what} must be one of: ${allowed.join(', ')}`)
  return value as T
}
