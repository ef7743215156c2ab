import type { KeysetPosition } from '../db/keyset.ts'
import { unprocessable } from './problem.ts'

/** Opaque keyset-pagination cursor over (created_at, id). */
export function encodeCursor (position: { created_at: Date, id: string }): string {
  return Buffer.from(JSON.stringify([position.created_at.toISOString(), position.id])).toString('base64url')
}

export function decodeCursor (cursor: string): KeysetPosition {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as [string, string]
    const date = new Date(createdAt)
    if (Number.isNaN(date.getTime()) || typeof id !== 'string' || !/^[0-9a-f-]{36}$/.test(id)) throw new Error('bad cursor')
    return { createdAt: date, id }
  } catch {
    throw unprocessable('cursor is not valid', { field: 'cursor' })
  }
}
