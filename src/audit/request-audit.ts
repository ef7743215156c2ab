import type { FastifyRequest } from 'fastify'
import { requestMeta } from '../http/request-context.ts'
import type { AuditRecord } from './audit.repository.ts'
import type { AuditService } from './audit.service.ts'

/** The audit row of an action on behalf of the request's principal, with the request's context. */
export function requestRecord (request: FastifyRequest, action: string, status: number, detail: Record<string, unknown> = {}): AuditRecord {
  const meta = requestMeta(request)
  return {
    requestId: meta.requestId,
    ip: meta.ip,
    method: meta.method,
    route: meta.route,
    actorUserId: request.principal?.userId ?? null,
    actorKeyId: request.principal?.keyId ?? null,
    action,
    status,
    detail
  }
}

/** Audits an action on behalf of the request's principal, with the request's context. */
export function requestAuditor (audit: AuditService) {
  return (request: FastifyRequest, action: string, status: number, detail: Record<string, unknown> = {}) =>
    audit.record(requestRecord(request, action, status, detail))
}

export type RequestAuditor = ReturnType<typeof requestAuditor>
