import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import Type from 'typebox'
import type { RequestAuditor } from '../../audit/request-audit.ts'
import type { Config } from '../../config/config.ts'
import { badRequest } from '../../http/problem.ts'
import { DateTime, IdParams, PublicUserSchema } from '../../http/schemas.ts'
import { toPublicUser } from '../users/users.service.ts'
import { requestMeta } from '../../http/request-context.ts'
import type { AuthService, IssuedSession } from './auth.service.ts'
import { clearSessionCookies, readSessionCookies, setSessionCookies } from './cookies.ts'
import { PUBLIC } from '../../access/permissions.ts'
import type { SessionsService } from './sessions.service.ts'

export interface AuthRoutesDeps {
  config: Config
  auth: AuthService
  sessions: SessionsService
  audit: RequestAuditor
}

const LoginBody = Type.Object({
  email: Type.String({ minLength: 1, maxLength: 320 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
  tokens: Type.Optional(Type.Boolean({ description: 'Return the tokens in the body (native clients) instead of setting cookies' }))
}, { additionalProperties: false })

const SessionReply = Type.Object({
  user: PublicUserSchema,
  csrfToken: Type.Optional(Type.String()),
  accessToken: Type.Optional(Type.String()),
  refreshToken: Type.Optional(Type.String()),
  tokenType: Type.Optional(Type.Literal('Bearer')),
  expiresIn: Type.Integer({ description: 'Seconds until the access token expires' }),
  refreshExpiresAt: DateTime
})

// A browser sends no body at all (the token is in the cookie); Fastify validates a missing
// body as null, which Type.Optional does not admit, so null is allowed explicitly.
const RefreshBody = Type.Object({
  refreshToken: Type.Optional(Type.String({ minLength: 1, maxLength: 200 }))
}, { additionalProperties: false })

const SessionItem = Type.Object({
  id: Type.String(),
  userAgent: Type.String(),
  ip: Type.String(),
  createdAt: DateTime,
  lastActiveAt: DateTime,
  expiresAt: DateTime,
  current: Type.Boolean()
})

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
    if (!request.body.tokens) setSessionCookies(request, res, deps.config, issued)
    return reply(request, issued, request.body.tokens === true)
  })

  r.post('/api/v1/auth/refresh', {
    config: { auth: PUBLIC },
    schema: { tags, summary: 'Rotate the refresh token', description: 'Reads the refresh cookie (with X-CSRF-Token) or {"refreshToken"} from a native client. A reused token revokes its session.', body: Type.Union([RefreshBody, Type.Null()]), response: { 200: SessionReply } }
  }, async (request, res) => {
    const fromBody = request.body?.refreshToken
    const cookies = readSessionCookies(request, deps.config)
    const token = fromBody ?? cookies.refresh
    if (!token) throw badRequest('No refresh token: send the refresh cookie or {"refreshToken": "…"}')
    const header = request.headers['x-csrf-token']
    const csrfCheck = fromBody ? undefined : { header: typeof header === 'string' ? header : undefined, cookie: cookies.csrf }
    try {
      const issued = await deps.auth.refresh(token, requestMeta(request), csrfCheck)
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
    schema: { tags, summary: 'Your active sessions (devices)', response: { 200: Type.Object({ items: Type.Array(SessionItem) }) } }
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
