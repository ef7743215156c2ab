import { randomBytes } from 'node:crypto'
import type { AuditRepository } from '../../audit/audit.repository.ts'
import type { Role, Tier, User } from '../../db/schema.ts'
import { conflict, notFound, unprocessable } from '../../http/problem.ts'
import type { AuthService } from '../auth/auth.service.ts'
import type { RequestMeta } from '../../http/request-context.ts'
import { hashPassword, passwordProblem } from '../auth/passwords.ts'
import type { SessionsRepository } from '../auth/sessions.repository.ts'
import type { LoginThrottleRepository } from '../auth/login-throttle.repository.ts'
import type { KeysRepository } from '../keys/keys.repository.ts'
import type { UsersRepository } from './users.repository.ts'
import { decodeCursor, encodeCursor } from '../../http/cursor.ts'
import { page, withLookahead } from '../../db/keyset.ts'

export interface PublicUser {
  id: string
  email: string
  role: Role
  tier: Tier
  disabled: boolean
  mustChangePassword: boolean
  createdAt: string
  updatedAt: string
}

/** The only shape in which a user leaves the service: no hash, no internal flags. */
export type UserSnapshot = Pick<User, 'id' | 'email' | 'role' | 'tier' | 'disabled' | 'must_change_password' | 'created_at' | 'updated_at'>

// Snapshots are frozen (auth.service.ts) and replaced, never changed, when the row changes: the
// public view of one is made once. An API-key principal's user answers every GET /api/v1/me.
const publicViews = new WeakMap<UserSnapshot, PublicUser>()

export function toPublicUser (user: UserSnapshot): PublicUser {
  if (!Object.isFrozen(user)) return publicView(user)
  let view = publicViews.get(user)
  if (!view) {
    view = Object.freeze(publicView(user))
    publicViews.set(user, view)
  }
  return view
}

function publicView (user: UserSnapshot): PublicUser {
  return {
    id: user.id,
    email: user.email,
    role: user.role,
    tier: user.tier,
    disabled: user.disabled,
    mustChangePassword: user.must_change_password,
    createdAt: user.created_at.toISOString(),
    updatedAt: user.updated_at.toISOString()
  }
}

// Deliberately loose (RFC 5322 is not worth parsing here): one @, no spaces, a dot in the
// domain, no empty label. Each domain label ends at its dot, so no input backtracks.
const EMAIL = /^[^\s@]{1,64}@(?:[^\s@.]+\.)+[^\s@.]{2,}$/

export function normaliseEmail (input: string): string {
  const email = input.normalize('NFKC').trim()
  if (email.length > 254 || !EMAIL.test(email)) throw unprocessable('email is not a valid email address', { field: 'email' })
  return email
}

function checkPassword (password: string, email: string) {
  const problem = passwordProblem(password, email)
  if (problem) throw unprocessable(problem, { field: 'password' })
}

export const generatePassword = (): string => randomBytes(18).toString('base64url')

export interface UserPatch {
  role?: Role
  tier?: Tier
  disabled?: boolean
  password?: string
}

const LAST_ADMIN = 'This is the last enabled admin; promote another admin first'

/**
 * A domain that stores personal data outside the users tables (files, later jobs). GDPR
 * export and erasure go through every one, so a new domain cannot be forgotten by them.
 */
export interface PersonalData {
  /** Its section in the export document. */
  section: string
  export: (userId: string) => Promise<unknown>
  /** Deletes everything of the user, including what lives outside the database. */
  erase: (userId: string) => Promise<void>
}

export interface UsersDeps {
  /** How long a one-time password (generated, or set by an admin for someone else) signs in. */
  oneTimePasswordHours: number
  users: UsersRepository
  sessions: SessionsRepository
  keys: KeysRepository
  throttle: LoginThrottleRepository
  auditLog: AuditRepository
  personalData?: PersonalData[]
  /** Runs once a user has chosen their own password (the first admin's password file goes then). */
  passwordChosen?: (user: User) => Promise<void>
  /** Proves the signed-in user's password under the sign-in throttle, auditing failures. */
  reauthenticate: AuthService['reauthenticate']
}

export function usersService (deps: UsersDeps) {
  const { users, sessions, keys } = deps

  /**
   * The columns of a password write. One someone else chose (a generated one, or an admin's)
   * is one-time: it must be changed before anything else and stops signing in after
   * ONE_TIME_PASSWORD_HOURS. One the owner chose clears that state.
   */
  async function passwordColumns (password: string, oneTime: boolean) {
    const at = new Date()
    return {
      password_hash: await hashPassword(password),
      password_changed_at: at,
      must_change_password: oneTime,
      password_expires_at: oneTime ? new Date(at.getTime() + deps.oneTimePasswordHours * 3_600_000) : null
    }
  }

  async function setOwnPassword (user: User, password: string) {
    await users.update(user.id, await passwordColumns(password, false))
    await deps.passwordChosen?.(user)
  }

  async function mustFind (id: string): Promise<User> {
    const user = await users.findById(id)
    if (!user || user.is_service) throw notFound('User')
    return user
  }

  /** Refuses any change that would leave the server with no enabled admin. */
  async function guardLastAdmin (user: User, patch: UserPatch) {
    const losesAdmin = user.role === 'admin' && !user.disabled && ((patch.role && patch.role !== 'admin') || patch.disabled === true)
    if (losesAdmin && await users.countActiveAdmins() <= 1) throw conflict(LAST_ADMIN)
  }

  return {
    /** `oneTime`: the password was chosen for the user, not by them (see passwordColumns). */
    async create (input: { email: string, password: string, role: Role, tier?: Tier, oneTime?: boolean }): Promise<User> {
      const email = normaliseEmail(input.email)
      checkPassword(input.password, email)
      const created = await users.insert({
        email, role: input.role, tier: input.tier ?? 'free', ...await passwordColumns(input.password, input.oneTime === true)
      })
      if (!created) throw conflict('A user with this email already exists')
      return created
    },

    get: mustFind,
    findByEmail: (email: string) => users.findByEmail(email),
    count: () => users.count(),

    async list (limit: number, cursor?: string, filter: { role?: Role, tier?: Tier } = {}): Promise<{ items: User[], nextCursor: string | null }> {
      const after = cursor ? decodeCursor(cursor) : undefined
      const rows = await users.list({ limit: withLookahead(limit), after, ...filter })
      return page(rows, limit, encodeCursor)
    },

    /**
     * Admin edit. Disabling ends every session and key of the user at once. A password set
     * here is one-time unless `actorId` is the user's own (an admin editing themself).
     */
    async update (id: string, patch: UserPatch, options: { actorId?: string } = {}): Promise<User> {
      const user = await mustFind(id)
      await guardLastAdmin(user, patch)
      if (patch.password !== undefined) checkPassword(patch.password, user.email)
      // guardLastAdmin answers early; this write re-checks atomically, for two admins racing.
      const updated = await users.updateKeepingAnAdmin(id, {
        ...(patch.role ? { role: patch.role } : {}),
        ...(patch.tier ? { tier: patch.tier } : {}),
        ...(patch.disabled !== undefined ? { disabled: patch.disabled } : {}),
        ...(patch.password !== undefined ? await passwordColumns(patch.password, options.actorId !== id) : {})
      })
      if (updated === 'last_admin') throw conflict(LAST_ADMIN)
      if (!updated) throw notFound('User')
      if (patch.disabled === true) {
        await sessions.revokeAllForUser(id, 'user_disabled')
        await keys.revokeAllForUser(id)
      } else if (patch.password !== undefined) {
        await sessions.revokeAllForUser(id, 'password_reset')
        await deps.throttle.clearEmail(user.email.toLowerCase())
      }
      return updated
    },

    /** Self-service change: proves the old password (throttled like a sign-in), ends every other session. */
    async changePassword (userId: string, currentSessionId: string | undefined, current: string, next: string, meta: RequestMeta): Promise<number> {
      const user = await mustFind(userId)
      await deps.reauthenticate(user, current, meta, 'password_change', 'currentPassword')
      checkPassword(next, user.email)
      await setOwnPassword(user, next)
      return sessions.revokeAllForUser(userId, 'password_changed', currentSessionId)
    },

    /** Everything stored about a person, for GDPR Art. 15/20 requests. */
    async exportData (userId: string) {
      const user = await mustFind(userId)
      const [userSessions, userKeys, audit, loginFailures] = await Promise.all([
        sessions.listAllForUser(userId), keys.listForUser(userId), deps.auditLog.listAboutUser(userId, user.email), deps.throttle.listForEmail(user.email.toLowerCase())
      ])
      const owned = await Promise.all((deps.personalData ?? []).map(async (p) => [p.section, await p.export(userId)] as const))
      return {
        exportedAt: new Date().toISOString(),
        user: toPublicUser(user),
        ...Object.fromEntries(owned),
        sessions: userSessions.map((s) => ({
          id: s.id, userAgent: s.user_agent, ip: s.ip, createdAt: s.created_at, lastActiveAt: s.last_active_at,
          expiresAt: s.expires_at, revokedAt: s.revoked_at, revokeReason: s.revoke_reason
        })),
        apiKeys: userKeys.map((k) => ({
          id: k.id, name: k.name, scopes: k.scopes, createdAt: k.created_at, expiresAt: k.expires_at, lastUsedAt: k.last_used_at, revokedAt: k.revoked_at
        })),
        loginFailures: loginFailures.map((f) => ({ ip: f.ip, failures: f.failures, lastFailureAt: f.last_failure_at, lockedUntil: f.locked_until })),
        // A row another user acted in (an admin's edit of this account) keeps that user's
        // address to itself: it is their personal data, not this person's.
        auditLog: audit.map((a) => ({
          at: a.at, action: a.action, ip: a.actor_user_id && a.actor_user_id !== userId ? null : a.ip, method: a.method, route: a.route, status: a.status, detail: a.detail
        }))
      }
    },

    /**
     * Re-authentication before a self-service erasure, throttled like a sign-in. Separate from
     * `erase` because the erasure's own audit row is written between the two (and unlinked by it).
     */
    async confirmErasure (userId: string, password: string | undefined, meta: RequestMeta): Promise<void> {
      if (!password) throw unprocessable('Erasure cannot be undone: confirm it with your current password, {"password": "…"}', { field: 'password' })
      await deps.reauthenticate(await mustFind(userId), password, meta, 'erase', 'password')
    },

    /** GDPR Art. 17: deletes the account and everything it owns; the audit trail is unlinked. */
    async erase (userId: string): Promise<void> {
      const user = await mustFind(userId)
      await guardLastAdmin(user, { disabled: true })
      for (const data of deps.personalData ?? []) await data.erase(userId)
      const deleted = await users.deleteKeepingAnAdmin(userId)
      if (deleted === 'last_admin') throw conflict(LAST_ADMIN)
      if (!deleted) throw notFound('User')
      await deps.auditLog.pseudonymiseActor(userId, user.email)
      await deps.throttle.clearEmail(user.email.toLowerCase())
    }
  }
}

export type UsersService = ReturnType<typeof usersService>
