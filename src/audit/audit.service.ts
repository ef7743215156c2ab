import type { FastifyBaseLogger } from 'fastify'
import type { AuditRecord, AuditRepository } from './audit.repository.ts'

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
    }
  }
}

export type AuditService = ReturnType<typeof auditService>
