import type { Config } from '../../config/config.ts'
import { ConfigError } from '../../config/config.ts'
import type { User } from '../../db/schema.ts'
import { passwordProblem } from '../auth/passwords.ts'
import type { InitialPasswordFile } from '../../config/initial-password-file.ts'
import type { UsersRepository } from './users.repository.ts'
import { generatePassword, type UsersService } from './users.service.ts'

export const SERVICE_USER_EMAIL = 'service@tympan.internal'

export interface BootstrapResult {
  admin?: User
  /** Set only when Tympan generated the password: the caller shows it once on the terminal. */
  generatedPassword?: string
}

/**
 * First start with no users (the service account of INTERNAL_API_KEYS does not count): create
 * the admin from the environment, or with a generated one-time password.
 */
export async function bootstrapAdmin (config: Config, users: UsersService): Promise<BootstrapResult> {
  if (await users.count() > 0) return {}
  const fromEnv = config.admin.password
  if (fromEnv) {
    const problem = passwordProblem(fromEnv, config.admin.email)
    if (problem) throw new ConfigError(`TYMPAN_ADMIN_PASSWORD is not acceptable: ${problem}`)
  }
  const password = fromEnv || generatePassword()
  // The operator chose TYMPAN_ADMIN_PASSWORD; a generated one was seen by whoever reads the
  // terminal or the file, so it is one-time.
  const admin = await users.create({ email: config.admin.email, password, role: 'admin', tier: 'enterprise', oneTime: !fromEnv })
  return fromEnv ? { admin } : { admin, generatedPassword: password }
}

/**
 * The first admin's password file outlives its use when the admin changed the password on
 * another process (or the account is gone): removed at start once nobody needs it.
 */
export async function removeSpentInitialPassword (config: Config, users: UsersService, file: InitialPasswordFile): Promise<boolean> {
  const admin = await users.findByEmail(config.admin.email)
  if (admin?.must_change_password) return false
  return file.remove()
}

/** Removes the file as soon as the first admin chooses their own password. */
export const initialPasswordChosen = (config: Config, file: InitialPasswordFile) => async (user: User): Promise<void> => {
  if (user.email.toLowerCase() === config.admin.email.toLowerCase()) await file.remove()
}

/** Internal service keys act as this account, which has no password and cannot sign in. */
export async function ensureServiceUser (repo: UsersRepository): Promise<User> {
  const existing = await repo.findByEmail(SERVICE_USER_EMAIL)
  if (existing) return existing
  const created = await repo.insert({ email: SERVICE_USER_EMAIL, password_hash: null, role: 'member', tier: 'enterprise', is_service: true })
  // A concurrent start may have inserted it first.
  return created ?? (await repo.findByEmail(SERVICE_USER_EMAIL))!
}
