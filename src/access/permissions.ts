import type { IncomingHttpHeaders } from 'node:http'
import type { Role, Tier, User } from '../db/schema.ts'

export const SCOPES = ['files:read', 'files:write', 'jobs:read', 'jobs:write', 'translate', 'admin'] as const
export type Scope = typeof SCOPES[number]

export const ROLES: readonly Role[] = ['admin', 'member', 'viewer']
export const TIERS: readonly Tier[] = ['free', 'premium', 'enterprise']

export const ROLE_SCOPES: Readonly<Record<Role, readonly Scope[]>> = Object.freeze({
  admin: SCOPES,
  member: ['files:read', 'files:write', 'jobs:read', 'jobs:write', 'translate'],
  viewer: ['files:read', 'jobs:read']
})

/** `self`: any signed-in principal acting on its own account (profile, keys, sessions). */
export type Permission = Scope | 'self'

/**
 * What a route demands. Every route states it (see auth.hook.ts): a route that does not is
 * denied to everyone, and the route-walking test fails.
 */
export type RouteAuth =
  | { public: true }
  | {
      permission: Permission
      sessionOnly?: boolean
      /**
       * Open to an account whose password is one-time (see `authorize`): what it needs to see
       * that state and leave it (who am I, change password, sign out).
       */
      allowPendingPasswordChange?: boolean
      /**
       * A credential the route accepts in place of a principal with `permission` (GET /metrics:
       * the scraper's METRICS_TOKEN). Checked before the caller is identified; when it does
       * not match, the route is judged like any other.
       */
      orCredential?: (headers: IncomingHttpHeaders) => boolean
    }

export const PUBLIC: RouteAuth = Object.freeze({ public: true })

/** The owner as read with the credential: enough to answer "who am I" without another query. */
export type PrincipalUser = Pick<User, 'id' | 'email' | 'role' | 'tier' | 'disabled' | 'must_change_password' | 'created_at' | 'updated_at'>

export interface Principal {
  kind: 'session' | 'api_key' | 'internal' | 'dev'
  userId: string
  user: PrincipalUser
  role: Role
  tier: Tier
  scopes: readonly Scope[]
  /** Browser/native session (kind 'session'). */
  sessionId?: string
  jti?: string
  tokenExpiresAt?: Date
  viaCookie: boolean
  /** Non-secret key id for display and audit (kinds 'api_key' and 'internal'). */
  keyId?: string
}

/** A key never carries more than its owner's role allows today, even if the role shrank since. */
export function effectiveScopes (role: Role, requested: readonly string[]): Scope[] {
  const allowed = ROLE_SCOPES[role]
  return allowed.filter((scope) => requested.includes(scope))
}

export function scopesBeyondRole (role: Role, requested: readonly string[]): string[] {
  const allowed: readonly string[] = ROLE_SCOPES[role]
  return requested.filter((scope) => !allowed.includes(scope))
}

/** `code`: a stable, machine-readable name for refusals a client is expected to act on. */
export type Decision = { allowed: true } | { allowed: false, status: 401 | 403, reason: string, code?: string }

export const PASSWORD_CHANGE_REQUIRED = 'password_change_required'

export function authorize (principal: Principal | undefined, auth: RouteAuth | undefined): Decision {
  if (!auth) return { allowed: false, status: 403, reason: 'This route declares no permission and is closed' }
  if ('public' in auth) return { allowed: true }
  if (!principal) return { allowed: false, status: 401, reason: 'Authentication required: sign in, or send an API key in X-API-Key or Authorization: Bearer' }
  // A one-time password is known to someone besides the owner (the admin who set it, the
  // terminal or file it was shown in): until the owner picks their own, the account does
  // nothing else, whichever credential it uses. Its API keys included: they act as the
  // account, and the state is short (a sign-in and a change) and says what to do. `dev`
  // (AUTH_ENABLED=false) presents no credential at all, so there is nothing to take back.
  if (principal.user.must_change_password && principal.kind !== 'dev' && !auth.allowPendingPasswordChange) {
    return {
      allowed: false,
      status: 403,
      code: PASSWORD_CHANGE_REQUIRED,
      reason: 'This account has a one-time password: change it first (POST /api/v1/me/password with currentPassword and newPassword), then retry'
    }
  }
  if (auth.sessionOnly && principal.kind !== 'session' && principal.kind !== 'dev') {
    return { allowed: false, status: 403, reason: 'This action requires a signed-in user session; API keys cannot perform it' }
  }
  if (auth.permission === 'self' || principal.scopes.includes(auth.permission)) return { allowed: true }
  return { allowed: false, status: 403, reason: `Missing permission ${auth.permission}` }
}
