import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { RequestAuditor } from '../../audit/request-audit.ts'
import type { Config } from '../../config/config.ts'
import { requestMeta } from '../../http/request-context.ts'
import { clearSessionCookies } from '../auth/cookies.ts'
import { toPublicUser, type UsersService } from '../users/users.service.ts'
import { EraseBodyOrNone, MeReply, PasswordBody, PasswordChangeReply } from './me.schemas.ts'

const tags = ['me']

export function meRoutes (app: FastifyInstance, deps: { config: Config, users: UsersService, audit: RequestAuditor }) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>()

  r.get('/api/v1/me', {
    config: { auth: { permission: 'self', allowPendingPasswordChange: true } },
    schema: {
      tags,
      summary: 'Who am I',
      response: { 200: MeReply }
    }
  }, async (request) => {
    const principal = request.principal!
    // Authentication already read the owner's row; no second query on this hot path.
    return { user: toPublicUser(principal.user), scopes: [...principal.scopes], authenticatedBy: principal.kind }
  })

  r.post('/api/v1/me/password', {
    config: { auth: { permission: 'self', sessionOnly: true, allowPendingPasswordChange: true } },
    schema: { tags, summary: 'Change your password; every other session ends', body: PasswordBody, response: { 200: PasswordChangeReply } }
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
    schema: { tags, summary: 'Erase your account and all your data (GDPR erasure)', description: 'Needs your current password in the body: {"password": "…"}.', body: EraseBodyOrNone }
  }, async (request, reply) => {
    await deps.users.confirmErasure(request.principal!.userId, request.body?.password, requestMeta(request))
    await deps.audit(request, 'user.erased', 204)
    await deps.users.erase(request.principal!.userId)
    clearSessionCookies(request, reply, deps.config)
    return reply.code(204).send()
  })
}
