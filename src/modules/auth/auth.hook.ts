import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { AggregatedAuditor } from '../../audit/aggregated-audit.ts'
import type { Config } from '../../config/config.ts'
import { addressKey } from '../../guard/rate-limit.policy.ts'
import { authFailureForAudit, type Metrics } from '../../observability/metrics.ts'
import { HttpProblem, unauthorized } from '../../http/problem.ts'
import { requestMeta, type RouteAuthEntry } from '../../http/request-context.ts'
import type { AuthService } from './auth.service.ts'
import { readSessionCookies } from './cookies.ts'
import { authorize, PUBLIC, type Decision, type Principal } from '../../access/permissions.ts'
import type { RequestStage } from '../../http/request-stages.ts'

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const QUERY_CREDENTIALS = /[?&](api[_-]?key|key|token|access_token|apikey)=/i
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/
// Routes that plugins register (the API docs UI and its assets) and that are public by nature.
const PLUGIN_PUBLIC_PREFIXES = ['/docs']

export interface AuthStages {
  identify: RequestStage
  authorize: RequestStage
}

/** The principal, or the 401 `message` when the credential was refused; a promise stays one. */
function required (found: Principal | undefined | Promise<Principal | undefined>, message: string): Principal | Promise<Principal> {
  if (found instanceof Promise) {
    return found.then((principal) => {
      if (!principal) throw unauthorized(message)
      return principal
    })
  }
  if (!found) throw unauthorized(message)
  return found
}

export interface AuthHookDeps {
  config: Config
  auth: AuthService
  /** Denials and CSRF failures are audited through it: one row per subject, reason and minute. */
  refusals: AggregatedAuditor
  metrics?: Pick<Metrics, 'authFailure'>
  /** Used only when AUTH_ENABLED=false (development, loopback only). */
  devPrincipal?: Principal
}

/**
 * Deny by default: every route must say what it needs (config.auth). Authentication runs in
 * onRequest, before the body is read, so an anonymous client cannot make the server parse
 * a body it would refuse anyway. It comes in two stages for the caller to register as
 * onRequest hooks, in order, with the guards that need the identity in between:
 * `identify` never throws (it stores the principal or the refusal on the request) and
 * `authorize` answers 401/403 (and the CSRF check).
 */
export function registerAuthHook (app: FastifyInstance, deps: AuthHookDeps): AuthStages {
  const table: RouteAuthEntry[] = []
  app.decorate('routeAuthTable', table)
  app.decorateRequest('principal', undefined)
  app.decorateRequest('authError', undefined)

  app.addHook('onRoute', (route) => {
    if (!route.config?.auth && PLUGIN_PUBLIC_PREFIXES.some((p) => route.url === p || route.url.startsWith(`${p}/`))) {
      route.config = { ...route.config, auth: PUBLIC }
    }
    // Read at use, not now: onRoute hooks registered later (the CORS guard's) may still set it.
    for (const method of [route.method].flat()) table.push({ method, url: route.url, get auth () { return route.config?.auth } })
  })

  // Synchronous for an API key in the cache (the common case); a promise when it must read.
  function identify (request: FastifyRequest): Principal | undefined | Promise<Principal | undefined> {
    if (QUERY_CREDENTIALS.test(request.url)) {
      throw unauthorized('Credentials are not accepted in the query string; send X-API-Key or Authorization: Bearer')
    }
    const apiKey = request.headers['x-api-key']
    if (typeof apiKey === 'string' && apiKey) return required(deps.auth.principalFromApiKey(apiKey), 'API key is invalid, expired or revoked')
    const authorization = request.headers.authorization
    if (authorization) {
      const [scheme, value, ...rest] = authorization.trim().split(/\s+/)
      if (scheme?.toLowerCase() !== 'bearer' || !value || rest.length > 0) throw unauthorized('Authorization must be "Bearer <token or API key>"')
      return required(JWT_SHAPE.test(value) ? deps.auth.principalFromAccessToken(value, false) : deps.auth.principalFromApiKey(value),
        'Bearer token is invalid, expired or revoked')
    }
    const cookie = readSessionCookies(request, deps.config).access
    if (cookie) return required(deps.auth.principalFromAccessToken(cookie, true), 'Session is invalid or expired; refresh it or sign in again')
    return deps.config.authEnabled ? undefined : deps.devPrincipal
  }

  // A credential that fails is remembered, not thrown: guards that run between identify and
  // authorize (the rate limit) still see the request, and count it by address.
  const byCredential = new WeakSet<FastifyRequest>()
  const identifyStage: RequestStage = (request) => {
    if (request.is404) return
    const routeAuth = request.routeOptions.config.auth
    if (routeAuth && 'public' in routeAuth) return
    if (routeAuth?.orCredential?.(request.headers)) {
      byCredential.add(request)
      return
    }
    let found: Principal | undefined | Promise<Principal | undefined>
    try {
      found = identify(request)
    } catch (error) {
      request.authError = error
      return
    }
    if (found instanceof Promise) {
      return found.then((principal) => { request.principal = principal }, (error: unknown) => { request.authError = error })
    }
    request.principal = found
  }

  const authorizeStage: RequestStage = (request) => {
    if (request.is404) return
    const routeAuth = request.routeOptions.config.auth
    if ((routeAuth && 'public' in routeAuth) || byCredential.has(request)) return
    if (request.authError !== undefined) throw request.authError
    const principal = request.principal
    const decision = authorize(principal, routeAuth)
    if (!decision.allowed) return refuse(request, principal, decision)
    if (principal?.viaCookie && UNSAFE_METHODS.has(request.method)) {
      const header = request.headers['x-csrf-token']
      if (!deps.auth.csrfValid(principal, typeof header === 'string' ? header : undefined, readSessionCookies(request, deps.config).csrf)) {
        return denied(request, principal, 'csrf').then(() => {
          throw new HttpProblem(403, 'Forbidden', 'CSRF token missing or invalid: send the X-CSRF-Token header')
        })
      }
    }
  }

  async function refuse (request: FastifyRequest, principal: Principal | undefined, decision: Exclude<Decision, { allowed: true }>) {
    if (decision.status === 403) await denied(request, principal, decision.reason)
    throw new HttpProblem(decision.status, decision.status === 401 ? 'Unauthorized' : 'Forbidden', decision.reason,
      decision.status === 401 ? { headers: { 'www-authenticate': 'Bearer realm="tympan"' } } : decision.code ? { extra: { code: decision.code } } : {})
  }

  // A client can repeat a refused request at will, so each is counted but only the first per
  // subject, operation and reason in a minute becomes an audit row (the rest are summarised).
  // The operation is the route pattern, never the raw URL, so the keys stay few.
  function denied (request: FastifyRequest, principal: Principal | undefined, reason: string) {
    const action = reason === 'csrf' ? 'auth.csrf.failure' : 'authz.denied'
    const failure = authFailureForAudit(action)
    if (failure) deps.metrics?.authFailure(failure)
    const meta = requestMeta(request)
    const subject = principal?.keyId ? `api_key:${principal.keyId}` : principal ? `user:${principal.userId}` : `ip:${addressKey(meta.ip)}`
    return deps.refusals.record({ action, subject, reason: `${meta.method} ${meta.route}: ${reason}` }, {
      requestId: meta.requestId,
      ip: meta.ip,
      method: meta.method,
      route: meta.route,
      actorUserId: principal?.userId ?? null,
      actorKeyId: principal?.keyId ?? null,
      action,
      status: 403,
      detail: { reason }
    })
  }

  return { identify: identifyStage, authorize: authorizeStage }
}
