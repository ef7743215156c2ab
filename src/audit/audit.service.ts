import type { FastifyBaseLogger } from 'fastify'
import type { AuditEntry } from '../db/schema.ts'
import { unprocessable } from '../http/problem.ts'
import type { AuditQuery, AuditRecord, AuditRepository } from './audit.repository.ts'
import { page, withLookahead } from '../db/keyset.ts'

// C0/C1 controls and the Unicode bidi overrides: written escaped, so a crafted email or user
// agent cannot forge lines in a log viewer or reorder text in an admin's screen.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g // eslint-disable-line no-control-regex

export function escapeControl (value: string): string {
  return value.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

function sanitise (value: unknown): unknown {
  if (typeof value === 'string') return escapeControl(value.length > 512 ? `${value.slice(0, 512)}…` : value)
  if (Array.isArray(value)) return value.map(sanitise)
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [escapeControl(k), sanitise(v)]))
  }
  return value
}

export interface PublicAuditEntry {
  id: number
  at: string
  requestId: string | null
  actorUserId: string | null
  actorKeyId: string | null
  ip: string | null
  method: string | null
  route: string | null
  action: string
  status: number | null
  detail: Record<string, unknown>
}

export function toPublicAuditEntry (a: AuditEntry): PublicAuditEntry {
  return {
    id: a.id, at: a.at.toISOString(), requestId: a.request_id, actorUserId: a.actor_user_id, actorKeyId: a.actor_key_id,
    ip: a.ip, method: a.method, route: a.route, action: a.action, status: a.status, detail: a.detail
  }
}

export function auditService (repository: AuditRepository, log: FastifyBaseLogger) {
  return {
    /**
     * Never throws: a failed audit write is logged loudly but must not turn a served request
     * into an error after its effect has happened.
     */
    async record (record: AuditRecord): Promise<void> {
      const clean: AuditRecord = {
        ...record,
        route: record.route ? escapeControl(record.route) : record.route,
        detail: sanitise(record.detail ?? {}) as Record<string, unknown>
      }
      try {
        await repository.insert(clean)
      } catch (error) {
        log.error({ err: error, action: record.action }, 'audit write failed')
      }
    },

    /** One page of the log, newest first; `nextCursor` is the `before` of the next page. */
    async page (query: AuditQuery): Promise<{ items: PublicAuditEntry[], nextCursor: number | null }> {
      if (query.from && query.to && query.from >= query.to) throw unprocessable('from must be before to', { field: 'from' })
      const rows = await repository.list({ ...query, limit: withLookahead(query.limit) })
      const { items, nextCursor } = page(rows, query.limit, (last) => last.id)
      return { items: items.map(toPublicAuditEntry), nextCursor }
    }
  }
}

export type AuditService = ReturnType<typeof auditService>
