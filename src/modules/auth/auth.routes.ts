import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { RequestAuditor } from '../../audit/request-audit.ts'
import type { Config } from '../../config/config.ts'
import { badRequest } from '../../http/problem.ts'
import { IdParams } from '../../http/schemas.ts'
import { toPublicUser } from '../users/users.service.ts'
import { requestMeta } from '../../http/request-context.ts'
import type { AuthService, IssuedSession } from './auth.service.ts'
import { clearSessionCookies, readSessionCookies, setSessionCookies } from './cookies.ts'
import { PUBLIC } from '../../access/permissions.ts'
import type { SessionsService } from './sessions.service.ts'
import { LoginBody, RefreshBodyOrNone, SessionList, SessionReply } from './auth.schemas.ts'

export interface AuthRoutesDeps {
  config: Config
  auth: AuthService
  sessions: SessionsService
  audit: RequestAuditor
}


export function authRoutes (app: FastifyInstance, deps: AuthRoutesDeps) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>()
  const tags = ['auth']

  const reply = (request: FastifyRequest, issued: Omit<IssuedSession, 'user'> & { user: IssuedSession['user'] }, tokensInBody: boolean) => {
    const base = {
      user: toPublicUser(issued.user),
      expiresIn: Math.round((issued.accessExpiresAt.getTime() - Date.now()) / 1000),
      refreshExpiresAt: issued.refreshExpiresAt.toISOString()
    }
    return tokensInBody
      ? { ...base, accessToken: issued.accessToken, refreshToken: issued.refreshToken, tokenType: 'Bearer' as const }
      : { ...base, csrfToken: issued.csrfToken }
  }

  r.post('/api/v1/auth/login', {
    config: { auth: PUBLIC, rateLimit: 'login' },
    schema: { tags, summary: 'Sign in', description: 'Sets HttpOnly session cookies, or with {"tokens": true} returns the tokens for a native client.', body: LoginBody, response: { 200: SessionReply } }
  }, async (request, res) => {
    const issued = await deps.auth.login(request.body.email, request.body.password, requestMeta(request))
    // A public route, so the identified callers' no-store does not cover it; tokens and session cookies must not be cached (RFC 6749 5.1).
    res.header('cache-control', 'no-store')
    if (!request.body.tokens) setSessionCookies(request, res, deps.config, issued)
    return reply(request, issued, request.body.tokens === true)
  })

  r.post('/api/v1/auth/refresh', {
    config: { auth: PUBLIC },
    schema: { tags, summary: 'Rotate the refresh token', description: 'Reads the refresh cookie (with X-CSRF-Token) or {"refreshToken"} from a native client. A reused token revokes its session.', body: RefreshBodyOrNone, response: { 200: SessionReply } }
  }, async (request, res) => {
    const fromBody = request.body?.refreshToken
    const cookies = readSessionCookies(request, deps.config)
    const token = fromBody ?? cookies.refresh
    if (!token) throw badRequest('No refresh token: send the refresh cookie or {"refreshToken": "…"}')
    const header = request.headers['x-csrf-token']
    const csrfCheck = fromBody ? undefined : { header: typeof header === 'string' ? header : undefined, cookie: cookies.csrf }
    try {
      const issued = await deps.auth.refresh(token, requestMeta(request), csrfCheck)
      res.header('cache-control', 'no-store')
      if (!fromBody) setSessionCookies(request, res, deps.config, issued)
      return reply(request, issued, Boolean(fromBody))
    } catch (error) {
      if (!fromBody) clearSessionCookies(request, res, deps.config)
      throw error
    }
  })

  r.post('/api/v1/auth/logout', {
    config: { auth: { permission: 'self', sessionOnly: true, allowPendingPasswordChange: true } },
    schema: { tags, summary: 'Sign out: revokes this session and its access token' }
  }, async (request, res) => {
    await deps.auth.logout(request.principal!, requestMeta(request))
    clearSessionCookies(request, res, deps.config)
    return res.code(204).send()
  })

  r.get('/api/v1/auth/sessions', {
    config: { auth: { permission: 'self', sessionOnly: true } },
    schema: { tags, summary: 'Your active sessions (devices)', response: { 200: SessionList } }
  }, async (request) => ({ items: await deps.sessions.listActive(request.principal!) }))

  r.delete('/api/v1/auth/sessions/:id', {
    config: { auth: { permission: 'self', sessionOnly: true } },
    schema: { tags, summary: 'Revoke one of your sessions', params: IdParams }
  }, async (request, res) => {
    const session = await deps.sessions.revoke(request.principal!, request.params.id)
    await deps.audit(request, 'auth.session.revoked', 204, { sessionId: session.id })
    return res.code(204).send()
  })
}
