import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import type { RequestAuditor } from '../../audit/request-audit.ts'
import type { Config } from '../../config/config.ts'
import { PublicUserSchema } from '../../http/schemas.ts'
import { requestMeta } from '../../http/request-context.ts'
import { clearSessionCookies } from '../auth/cookies.ts'
import { toPublicUser, type UsersService } from '../users/users.service.ts'

const tags = ['me']

const PasswordBody = Type.Object({
  currentPassword: Type.String({ minLength: 1, maxLength: 1024 }),
  newPassword: Type.String({ minLength: 1, maxLength: 1024 })
}, { additionalProperties: false })

// Without a body Fastify validates null; it is admitted so that the refusal can say what to send.
const EraseBody = Type.Object({
  password: Type.String({ minLength: 1, maxLength: 1024, description: 'Your current password: erasure cannot be undone' })
}, { additionalProperties: false })

export function meRoutes (app: FastifyInstance, deps: { config: Config, users: UsersService, audit: RequestAuditor }) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>()

  r.get('/api/v1/me', {
    config: { auth: { permission: 'self', allowPendingPasswordChange: true } },
    schema: {
      tags,
      summary: 'Who am I',
      response: { 200: Type.Object({ user: PublicUserSchema, scopes: Type.Array(Type.String()), authenticatedBy: Type.String() }) }
    }
  }, async (request) => {
    const principal = request.principal!
    // Authentication already read the owner's row; no second query on this hot path.
    return { user: toPublicUser(principal.user), scopes: [...principal.scopes], authenticatedBy: principal.kind }
  })

  r.post('/api/v1/me/password', {
    config: { auth: { permission: 'self', sessionOnly: true, allowPendingPasswordChange: true } },
    schema: { tags, summary: 'Change your password; every other session ends', body: PasswordBody, response: { 200: Type.Object({ revokedSessions: Type.Integer() }) } }
  }, async (request) => {
    const principal = request.principal!
    const revokedSessions = await deps.users.changePassword(principal.userId, principal.sessionId, request.body.currentPassword, request.body.newPassword, requestMeta(request))
    await deps.audit(request, 'auth.password.changed', 200, { revokedSessions })
    return { revokedSessions }
  })

  r.get('/api/v1/me/export', {
    config: { auth: { permission: 'self', sessionOnly: true } },
    schema: { tags, summary: 'Everything Tympan stores about you, as JSON (GDPR access and portability)' }
  }, async (request, reply) => {
    const data = await deps.users.exportData(request.principal!.userId)
    await deps.audit(request, 'user.exported', 200)
    reply.header('content-disposition', 'attachment; filename="tympan-export.json"')
    return data
  })

  r.delete('/api/v1/me/data', {
    config: { auth: { permission: 'self', sessionOnly: true } },
    schema: { tags, summary: 'Erase your account and all your data (GDPR erasure)', description: 'Needs your current password in the body: {"password": "…"}.', body: Type.Union([EraseBody, Type.Null()]) }
  }, async (request, reply) => {
    await deps.users.confirmErasure(request.principal!.userId, request.body?.password, requestMeta(request))
    await deps.audit(request, 'user.erased', 204)
    await deps.users.erase(request.principal!.userId)
    clearSessionCookies(request, reply, deps.config)
    return reply.code(204).send()
  })
}
