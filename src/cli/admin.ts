import { parseArgs } from 'node:util'
import pino from 'pino'
import { createContainer } from '../container.ts'
import { fileStoresFor } from '../storage/file-stores.ts'
import { HttpProblem } from '../http/problem.ts'
import { ROLES, TIERS } from '../access/permissions.ts'
import { revocationBus } from '../modules/auth/revocation-bus.ts'
import { generatePassword } from '../modules/users/users.service.ts'
import { CliError, openRuntime, readStdin } from './runtime.ts'
import { ADMIN_HELP } from './help.ts'


export async function adminCommand (argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      email: { type: 'string' },
      role: { type: 'string', default: 'member' },
      tier: { type: 'string', default: 'free' },
      'password-stdin': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  const [group, command, ...rest] = positionals
  if (group === 'sweep' && !values.help) return sweep()
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
  const revocations = revocationBus(db)
  const { users, signals } = createContainer(config, db, fileStoresFor(config), pino({ level: 'silent' }), { revocations })
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
    const { retention, signals } = createContainer(config, db, fileStoresFor(config), pino({ level: 'silent' }))
    try {
      const report = await retention.sweep()
      console.log(`Deleted ${report.expiredFiles} expired file(s), ${report.staleStaged} stale staged file(s), ${report.expiredResumable} abandoned resumable upload(s), ${report.expiredTranslationLogs} expired translation log row(s).`)
    } finally {
      await signals.close()
    }
  } finally {
    await db.close()
  }
}

function pick<T extends string> (value: string | undefined, allowed: readonly T[], what: string): T {
  if (!value || !allowed.includes(value as T)) throw new CliError(`${what} must be one of: ${allowed.join(', ')}`)
  return value as T
}
