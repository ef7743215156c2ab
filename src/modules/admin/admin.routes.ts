import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { AuditService } from '../../audit/audit.service.ts'
import type { RequestAuditor } from '../../audit/request-audit.ts'
import { IdParams, PublicUserSchema } from '../../http/schemas.ts'
import { toPublicUser, type UsersService } from '../users/users.service.ts'
import { AuditPage, AuditQuery, CreateUserBody, ListUsersQuery, PatchUserBody, UserPage } from './admin.schemas.ts'

const auth = { permission: 'admin' } as const

export function adminRoutes (app: FastifyInstance, deps: { users: UsersService, auditLog: AuditService, audit: RequestAuditor }) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>()
  const tags = ['admin']

  r.get('/api/v1/admin/users', {
    config: { auth },
    schema: {
      tags,
      summary: 'List users',
      querystring: ListUsersQuery,
      response: { 200: UserPage }
    }
  }, async (request) => {
    const { limit = 50, cursor, role, tier } = request.query
    const page = await deps.users.list(limit, cursor, { ...(role ? { role } : {}), ...(tier ? { tier } : {}) })
    return { items: page.items.map(toPublicUser), nextCursor: page.nextCursor }
  })

  r.post('/api/v1/admin/users', {
    config: { auth },
    schema: { tags, summary: 'Create a user', body: CreateUserBody, response: { 201: PublicUserSchema } }
  }, async (request, reply) => {
    // A password an admin picks for someone else is one-time (users.service.ts passwordColumns).
    const user = await deps.users.create({ ...request.body, oneTime: true })
    await deps.audit(request, 'admin.user.created', 201, { userId: user.id, role: user.role, tier: user.tier })
    return reply.code(201).send(toPublicUser(user))
  })

  r.get('/api/v1/admin/users/:id', {
    config: { auth },
    schema: { tags, summary: 'One user', params: IdParams, response: { 200: PublicUserSchema } }
  }, async (request) => toPublicUser(await deps.users.get(request.params.id)))

  r.patch('/api/v1/admin/users/:id', {
    config: { auth },
    schema: { tags, summary: 'Change role, tier, disabled flag or password; disabling ends all sessions and keys', params: IdParams, body: PatchUserBody, response: { 200: PublicUserSchema } }
  }, async (request) => {
    const user = await deps.users.update(request.params.id, request.body, { actorId: request.principal!.userId })
    const { password, ...changes } = request.body
    await deps.audit(request, 'admin.user.updated', 200, { userId: user.id, ...changes, ...(password !== undefined ? { passwordReset: true } : {}) })
    return toPublicUser(user)
  })

  r.get('/api/v1/admin/users/:id/export', {
    config: { auth },
    schema: { tags, summary: "Export a user's data (GDPR)", params: IdParams }
  }, async (request) => {
    const data = await deps.users.exportData(request.params.id)
    await deps.audit(request, 'admin.user.exported', 200, { userId: request.params.id })
    return data
  })

  r.delete('/api/v1/admin/users/:id/data', {
    config: { auth },
    schema: { tags, summary: "Erase a user's account and data (GDPR)", params: IdParams }
  }, async (request, reply) => {
    await deps.users.erase(request.params.id)
    await deps.audit(request, 'admin.user.erased', 204, { userId: request.params.id })
    return reply.code(204).send()
  })

  r.get('/api/v1/admin/audit', {
    config: { auth },
    schema: {
      tags,
      summary: 'Audit log, newest first',
      description: 'Filter by actor (user id), action (exact, or a prefix like `auth.*`) and time range; page with `cursor` = the `nextCursor` of the previous page.',
      querystring: AuditQuery,
      response: { 200: AuditPage }
    }
  }, async (request) => {
    const q = request.query
    return deps.auditLog.page({
      actorUserId: q.actor, action: q.action, from: q.from ? new Date(q.from) : undefined, to: q.to ? new Date(q.to) : undefined, before: q.cursor, limit: q.limit ?? 50
    })
  })
}
