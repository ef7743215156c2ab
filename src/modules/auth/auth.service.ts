import { createHash, createHmac } from 'node:crypto'
import type { Config } from '../../config/config.ts'
import type { OwnerColumns, User } from '../../db/schema.ts'
import type { AuditRecord } from '../../audit/audit.repository.ts'
import type { AuditService } from '../../audit/audit.service.ts'
import { authFailureForAudit, type AuthFailureReason, type Metrics } from '../../observability/metrics.ts'
import { addressKey } from '../../guard/rate-limit.policy.ts'
import { forbidden, tooManyRequests, unauthorized, unprocessable } from '../../http/problem.ts'
import type { RequestMeta } from '../../http/request-context.ts'
import { hashKeySecret, keyDisplayId, keyIdOf, parseKey } from '../keys/api-key.ts'
import type { KeysRepository, KeyWithOwner } from '../keys/keys.repository.ts'
import type { UsersRepository } from '../users/users.repository.ts'
import { safeEqual, type CsrfCodec } from './csrf.ts'
import type { LoginThrottleRepository } from './login-throttle.repository.ts'
import { dummyPasswordHash, verifyPassword } from './passwords.ts'
import { authCache } from './auth-cache.ts'
import { effectiveScopes, ROLE_SCOPES, type Principal, type PrincipalUser, type Scope } from '../../access/permissions.ts'
import type { RevocationBus } from './revocation-bus.ts'
import type { SessionState, SessionsRepository } from './sessions.repository.ts'
import { newOpaqueToken, type TokenCodec } from './tokens.ts'

export interface IssuedSession {
  user: User
  sessionId: string
  accessToken: string
  accessExpiresAt: Date
  refreshToken: string
  refreshExpiresAt: Date
  csrfToken: string
}

const DAY_MS = 86_400_000
// Failures older than this no longer count towards a lock.
const FAILURE_WINDOW_MS = 3_600_000
// After this many failures each further attempt waits (1 s, 2 s, 4 s, capped) before it is judged.
const SLOWDOWN_AFTER = 3
const SLOWDOWN_CAP_MS = 4000
// last_used_at is written at most this often per key, so auth stays a read on the hot path.
const KEY_TOUCH_INTERVAL_MS = 60_000
// Safety net only: invalidation through the revocation bus is what keeps the cache right.
const CACHE_TTL_MS = 60_000
const CACHE_MAX_ENTRIES = 10_000

const INVALID_LOGIN = 'Invalid email or password'

export type ReauthPurpose = 'password_change' | 'erase'
type PasswordPurpose = 'login' | ReauthPurpose
const FAILURE_AUDIT: Record<PasswordPurpose, { action: string, status: number }> = {
  login: { action: 'auth.login.failure', status: 401 },
  password_change: { action: 'auth.password.change_failed', status: 422 },
  erase: { action: 'user.erase_failed', status: 422 }
}

export interface AuthDeps {
  config: Config
  users: UsersRepository
  sessions: SessionsRepository
  keys: KeysRepository
  throttle: LoginThrottleRepository
  audit: AuditService
  tokens: TokenCodec
  csrf: CsrfCodec
  revocations?: RevocationBus
  serviceUser?: PrincipalUser
  metrics?: Pick<Metrics, 'authFailure'>
  sleep?: (ms: number) => Promise<void>
}

export function authService (deps: AuthDeps) {
  const { config, users, sessions, keys, throttle, audit, tokens, csrf } = deps
  const sleep = deps.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)))
  const internalKeyHashes = config.internalApiKeys.map((key) => createHash('sha256').update(key).digest('hex'))
  const refreshHash = (token: string) => createHmac('sha256', config.secrets.session).update(token).digest('hex')
  const keyCache = authCache<KeyWithOwner>({ ttlMs: CACHE_TTL_MS, maxEntries: CACHE_MAX_ENTRIES })
  const sessionCache = authCache<SessionState>({ ttlMs: CACHE_TTL_MS, maxEntries: CACHE_MAX_ENTRIES })
  // The secret hash each key principal was accepted with: a rotation ends what the old secret opened.
  const keySecretOf = new WeakMap<Principal, string>()
  deps.revocations?.subscribe(() => {
    keyCache.clear()
    sessionCache.clear()
  })

  // Every audited refusal (sign-in, lock, CSRF, permission, refresh reuse) is also counted;
  // refused credentials are counted where they are judged, below, as they are not audited.
  const auditFrom = (meta: RequestMeta, fields: Omit<AuditRecord, 'requestId' | 'ip' | 'method' | 'route'>): Promise<void> => {
    const failure = authFailureForAudit(fields.action)
    if (failure) deps.metrics?.authFailure(failure)
    return audit.record({ requestId: meta.requestId, ip: meta.ip, method: meta.method, route: meta.route, ...fields })
  }
  const refused = (reason: AuthFailureReason): undefined => {
    deps.metrics?.authFailure(reason)
    return undefined
  }

  // The principal of each cached key row, made once: a row is replaced, never changed in its
  // owner or scopes, when the cache refetches it.
  const keyPrincipals = new WeakMap<KeyWithOwner, Principal>()

  async function readKey (id: string, secret: string): Promise<Principal | undefined> {
    const generation = keyCache.begin()
    const key = await keys.findWithOwner(id)
    if (!key) return refused('invalid_key')
    keyCache.set(id, key, generation)
    return acceptKey(key, secret)
  }

  function acceptKey (key: KeyWithOwner, secret: string): Principal | undefined | Promise<Principal | undefined> {
    if (!safeEqual(key.secret_hash, hashKeySecret(secret))) return refused('invalid_key')
    const now = Date.now()
    if (key.revoked_at || key.disabled || (key.expires_at && key.expires_at.getTime() <= now)) return refused('invalid_key')
    let principal = keyPrincipals.get(key)
    if (!principal) {
      principal = Object.freeze({
        kind: 'api_key',
        userId: key.user_id,
        user: Object.freeze(ownerOf(key)),
        role: key.role,
        tier: key.tier,
        scopes: Object.freeze(effectiveScopes(key.role, key.scopes)) as Scope[],
        keyId: keyDisplayId(key.id),
        viaCookie: false
      }) as Principal
      keyPrincipals.set(key, principal)
      keySecretOf.set(principal, key.secret_hash)
    }
    if (!key.last_used_at || now - key.last_used_at.getTime() > KEY_TOUCH_INTERVAL_MS) {
      const used = new Date(now)
      key.last_used_at = used
      const accepted = principal
      return keys.markUsed(key.id, used).then(() => accepted)
    }
    return principal
  }

  async function issueSession (user: User, meta: RequestMeta): Promise<IssuedSession> {
    const now = new Date()
    const refreshToken = newOpaqueToken()
    const refreshExpiresAt = new Date(now.getTime() + config.auth.refreshTtlDays * DAY_MS)
    const session = await sessions.create({
      userId: user.id, userAgent: meta.userAgent.slice(0, 512), ip: meta.ip, expiresAt: refreshExpiresAt, refreshHash: refreshHash(refreshToken)
    })
    return withAccessToken(user, session.id, now, refreshToken, refreshExpiresAt)
  }

  /** A fresh access JWT and CSRF token around a session's current refresh token. */
  async function withAccessToken (user: User, sessionId: string, now: Date, refreshToken: string, refreshExpiresAt: Date): Promise<IssuedSession> {
    const access = await tokens.sign(user.id, sessionId, now)
    return {
      user,
      sessionId,
      accessToken: access.token,
      accessExpiresAt: new Date(access.claims.exp * 1000),
      refreshToken,
      refreshExpiresAt,
      csrfToken: csrf.issue(sessionId)
    }
  }

  function idleLimit (now: Date): Date {
    return new Date(now.getTime() - config.auth.refreshIdleDays * DAY_MS)
  }

  /**
   * Checks a password under the throttle of its (email, client) pair, which sign-in and
   * re-authentication share so that neither is a way around the other. A locked pair is
   * refused before anything is verified; past SLOWDOWN_AFTER failures each check waits first.
   * Only this pair is ever locked: another address, the owner's, is judged on its own
   * (ASVS 5.0 6.3.1). Every failure and lock is audited. Without a usable `stored` hash a
   * dummy one is verified, so that an unknown email costs the same time as a wrong password.
   */
  async function throttledCheck (
    email: string, stored: string | undefined, password: string, meta: RequestMeta, actorUserId: string | null, purpose: PasswordPurpose,
    expiresAt?: Date | null
  ): Promise<boolean> {
    const client = addressKey(meta.ip)
    const now = new Date()
    const via = purpose === 'login' ? {} : { purpose }
    const state = await throttle.get(email, client)
    if (state?.lockedUntil && state.lockedUntil > now) {
      await auditFrom(meta, { actorUserId, action: 'auth.login.locked', status: 429, detail: { email, ...via } })
      throw tooManyRequests('Too many failed password attempts for this account from this address; try again later', (state.lockedUntil.getTime() - now.getTime()) / 1000)
    }
    if (state && state.failures >= SLOWDOWN_AFTER) {
      await sleep(Math.min(SLOWDOWN_CAP_MS, 1000 * 2 ** (state.failures - SLOWDOWN_AFTER)))
    }
    const ok = await verifyPassword(stored ?? await dummyPasswordHash(), password)
    // A one-time password past its life fails like a wrong one (no oracle); the audit says why.
    const expired = ok && expiresAt !== undefined && expiresAt !== null && expiresAt <= now
    if (ok && stored && !expired) {
      await throttle.clear(email, client)
      return true
    }
    const windowStart = new Date(now.getTime() - FAILURE_WINDOW_MS)
    const lockUntil = new Date(now.getTime() + config.auth.loginLockMinutes * 60_000)
    const after = await throttle.recordFailure(email, client, now, windowStart, config.auth.loginMaxFailures, lockUntil)
    await auditFrom(meta, { actorUserId, action: expired ? 'auth.login.expired_password' : FAILURE_AUDIT[purpose].action, status: FAILURE_AUDIT[purpose].status, detail: { email, failures: after.failures, ...via } })
    if (after.lockedUntil) {
      await auditFrom(meta, { actorUserId, action: 'auth.login.locked', status: 429, detail: { email, until: after.lockedUntil.toISOString(), ...via } })
    }
    // Guesses spread over many addresses lock no pair for long; they are reported instead,
    // one row per LOGIN_ACCOUNT_ALERT_FAILURES, and never refuse the owner.
    const account = await throttle.accountFailures(email, windowStart)
    if (account.failures > 0 && account.failures % config.auth.loginAccountAlertFailures === 0) {
      await auditFrom(meta, { actorUserId, action: 'auth.login.targeted', status: 401, detail: { email, failures: account.failures, clients: account.clients } })
    }
    return false
  }

  return {
    async login (emailInput: string, password: string, meta: RequestMeta): Promise<IssuedSession> {
      const email = emailInput.trim().toLowerCase()
      const user = await users.findByEmail(email)
      const usable = user && !user.disabled && !user.is_service && user.password_hash ? user : undefined
      const ok = await throttledCheck(email, usable?.password_hash ?? undefined, password, meta, user?.id ?? null, 'login', usable?.password_expires_at)
      if (!ok || !usable) throw unauthorized(INVALID_LOGIN)
      const issued = await issueSession(usable, meta)
      await auditFrom(meta, { actorUserId: usable.id, action: 'auth.login.success', status: 200, detail: { sessionId: issued.sessionId } })
      return issued
    },

    /**
     * Re-authentication of a signed-in user before a sensitive change (password change,
     * erasure): the same throttle as sign-in, so a stolen session cannot guess the password
     * here either. Throws 422 naming `field` when the password is wrong, 429 when locked.
     */
    async reauthenticate (user: Pick<User, 'id' | 'email' | 'password_hash'>, password: string, meta: RequestMeta, purpose: ReauthPurpose, field: string): Promise<void> {
      if (!await throttledCheck(user.email.toLowerCase(), user.password_hash ?? undefined, password, meta, user.id, purpose)) {
        throw unprocessable(`${field} is not correct`, { field })
      }
    },

    /**
     * Rotates a refresh token. A token that was already rotated is proof that two parties hold
     * it, so the whole session (its token family) is revoked (RFC 9700 §4.14.2).
     * `csrfHeader`/`csrfCookie` are checked when the token came from a cookie.
     */
    async refresh (token: string, meta: RequestMeta, csrfCheck?: { header?: string, cookie?: string }): Promise<IssuedSession> {
      const now = new Date()
      const hash = refreshHash(token)
      const found = await sessions.findRefresh(hash)
      if (!found) {
        refused('invalid_token')
        throw unauthorized('Refresh token is invalid')
      }
      if (csrfCheck && !csrf.verify(found.session_id, csrfCheck.header, csrfCheck.cookie)) {
        await auditFrom(meta, { actorUserId: found.user_id, action: 'auth.csrf.failure', status: 403, detail: { sessionId: found.session_id } })
        throw forbidden('CSRF token missing or invalid: send the X-CSRF-Token header')
      }
      if (found.rotated_at) {
        await sessions.revoke(found.session_id, 'refresh_reuse')
        await auditFrom(meta, { actorUserId: found.user_id, action: 'auth.refresh.reuse_detected', status: 401, detail: { sessionId: found.session_id } })
        throw unauthorized('Refresh token was already used; the session has been revoked')
      }
      if (found.revoked_at || found.disabled || found.expires_at <= now || found.last_active_at <= idleLimit(now)) {
        throw unauthorized('Session has ended; sign in again')
      }
      const next = newOpaqueToken()
      if (!await sessions.rotate(found.session_id, hash, refreshHash(next), now)) {
        // Lost a race with another refresh of the same token: that is reuse too.
        await sessions.revoke(found.session_id, 'refresh_reuse')
        await auditFrom(meta, { actorUserId: found.user_id, action: 'auth.refresh.reuse_detected', status: 401, detail: { sessionId: found.session_id, race: true } })
        throw unauthorized('Refresh token was already used; the session has been revoked')
      }
      const user = await users.findById(found.user_id)
      if (!user) throw unauthorized('Session has ended; sign in again')
      return withAccessToken(user, found.session_id, now, next, found.expires_at)
    },

    async logout (principal: Principal, meta: RequestMeta): Promise<void> {
      if (principal.sessionId) await sessions.revoke(principal.sessionId, 'logout')
      if (principal.jti && principal.tokenExpiresAt) await sessions.revokeAccessToken(principal.jti, principal.tokenExpiresAt)
      await auditFrom(meta, { actorUserId: principal.userId, action: 'auth.logout', status: 204, detail: { sessionId: principal.sessionId } })
    },

    /** Access JWT (cookie or bearer) → principal, checking revocation on every request. */
    async principalFromAccessToken (token: string, viaCookie: boolean): Promise<Principal | undefined> {
      const claims = await tokens.verify(token)
      if (!claims) return refused('invalid_token')
      const cacheKey = `${claims.sid}:${claims.jti}`
      const generation = sessionCache.begin()
      let state = sessionCache.get(cacheKey)
      if (!state) {
        state = await sessions.stateForAccess(claims.sid, claims.jti)
        if (state) sessionCache.set(cacheKey, state, generation)
      }
      const now = new Date()
      if (!state || state.user_id !== claims.sub || state.revoked_at || state.disabled || state.jti_revoked || state.expires_at <= now) return refused('invalid_token')
      return {
        kind: 'session',
        userId: state.user_id,
        user: ownerOf(state),
        role: state.role,
        tier: state.tier,
        scopes: ROLE_SCOPES[state.role],
        sessionId: claims.sid,
        jti: claims.jti,
        tokenExpiresAt: new Date(claims.exp * 1000),
        viaCookie
      }
    },

    /**
     * API key → principal. A key in the cache that needs no last_used_at write is answered
     * at once, with the principal made when the key was read: the hot path allocates nothing
     * but the hash of the secret, which it must check every time.
     */
    principalFromApiKey (value: string): Principal | undefined | Promise<Principal | undefined> {
      if (internalKeyHashes.length > 0) {
        const digest = createHash('sha256').update(value).digest('hex')
        const internal = internalKeyHashes.findIndex((h) => safeEqual(h, digest))
        if (internal >= 0 && deps.serviceUser) {
          return {
            kind: 'internal',
            userId: deps.serviceUser.id,
            user: deps.serviceUser,
            role: 'member',
            tier: 'enterprise',
            scopes: ROLE_SCOPES.member,
            keyId: `internal:${(internalKeyHashes[internal] as string).slice(0, 12)}`,
            viaCookie: false
          }
        }
      }
      const parsed = parseKey(value)
      if (!parsed) return refused('invalid_key')
      const key = keyCache.get(parsed.id)
      return key ? acceptKey(key, parsed.secret) : readKey(parsed.id, parsed.secret)
    },

    csrfValid (principal: Principal, header: string | undefined, cookie: string | undefined): boolean {
      return principal.sessionId !== undefined && csrf.verify(principal.sessionId, header, cookie)
    },

    /**
     * Whether a principal accepted earlier would still be accepted now, with `permission`:
     * responses that outlive their request (event streams) ask while they run. False once
     * the session is revoked (logout), the access token is blacklisted or expired, the key
     * is revoked, expired or rotated, the user is disabled, or the role no longer grants
     * `permission`. `fresh` reads past the cache (say, when the revocation bus fired).
     */
    async stillValid (principal: Principal, permission: Scope, options: { fresh?: boolean } = {}): Promise<boolean> {
      const now = new Date()
      if (principal.tokenExpiresAt && principal.tokenExpiresAt <= now) return false
      // Internal keys live in the configuration, and the development principal has no credential.
      if (principal.kind === 'internal' || principal.kind === 'dev') return principal.scopes.includes(permission)
      if (principal.kind === 'session') {
        if (!principal.sessionId || !principal.jti) return false
        const cacheKey = `${principal.sessionId}:${principal.jti}`
        const generation = sessionCache.begin()
        let state = options.fresh ? undefined : sessionCache.get(cacheKey)
        if (!state) {
          state = await sessions.stateForAccess(principal.sessionId, principal.jti)
          if (state) sessionCache.set(cacheKey, state, generation)
        }
        return state !== undefined && state.user_id === principal.userId && !state.revoked_at && !state.disabled && !state.jti_revoked &&
          state.expires_at > now && ROLE_SCOPES[state.role].includes(permission)
      }
      const id = principal.keyId === undefined ? undefined : keyIdOf(principal.keyId)
      if (!id) return false
      const generation = keyCache.begin()
      let key = options.fresh ? undefined : keyCache.get(id)
      if (!key) {
        key = await keys.findWithOwner(id)
        if (key) keyCache.set(id, key, generation)
      }
      return key !== undefined && key.user_id === principal.userId && key.secret_hash === keySecretOf.get(principal) &&
        !key.revoked_at && !key.disabled && !(key.expires_at && key.expires_at <= now) && effectiveScopes(key.role, key.scopes).includes(permission)
    }
  }
}

export type AuthService = ReturnType<typeof authService>

/** The owner's columns as joined onto a session or key row. */
function ownerOf (row: OwnerColumns): PrincipalUser {
  return { id: row.user_id, email: row.email, role: row.role, tier: row.tier, disabled: row.disabled, must_change_password: row.must_change_password, created_at: row.user_created_at, updated_at: row.user_updated_at }
}
