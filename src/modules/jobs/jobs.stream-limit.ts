import { addressKey } from '../../guard/rate-limit.policy.ts'
import type { Principal } from '../../access/permissions.ts'

/**
 * Counts the event streams open in this process by their owners, so that one caller cannot
 * hold an unbounded number of connections. A stream takes one slot in each of its buckets
 * and gives them all back when it ends, however it ends.
 */
export type StreamBucket = 'user' | 'address' | 'internal_key'

export interface StreamClaim {
  bucket: StreamBucket
  id: string
}

export type StreamLimits = Readonly<Record<StreamBucket, number>>

export type Acquired =
  | { ok: true, release: () => void }
  | { ok: false, bucket: StreamBucket, limit: number, retryAfterMs: number }

/**
 * Who a stream is counted against. A user's keys share the user's budget (a key never
 * widens it); internal service keys fan out for many end users behind one address, so each
 * has its own larger budget and none by address.
 */
export function streamClaims (principal: Principal, ip: string): StreamClaim[] {
  if (principal.kind === 'internal') return [{ bucket: 'internal_key', id: principal.keyId ?? principal.userId }]
  return [{ bucket: 'user', id: principal.userId }, { bucket: 'address', id: addressKey(ip) }]
}

export interface StreamLimiter {
  /** `until` is when the stream will end at the latest: a refusal says how long until a slot frees. */
  acquire: (claims: readonly StreamClaim[], until: number, now: number) => Acquired
  open: (claim: StreamClaim) => number
}

export function streamLimiter (limits: StreamLimits): StreamLimiter {
  // bucket:id → the deadlines of the streams holding a slot there.
  const slots = new Map<string, Set<{ until: number }>>()
  const keyOf = (claim: StreamClaim) => `${claim.bucket}:${claim.id}`

  return {
    acquire (claims, until, now) {
      for (const claim of claims) {
        const held = slots.get(keyOf(claim))
        if (held && held.size >= limits[claim.bucket]) {
          const soonest = Math.min(...[...held].map((slot) => slot.until))
          return { ok: false, bucket: claim.bucket, limit: limits[claim.bucket], retryAfterMs: Math.max(0, soonest - now) }
        }
      }
      const slot = { until }
      const keys = claims.map(keyOf)
      for (const key of keys) {
        let held = slots.get(key)
        if (!held) slots.set(key, held = new Set())
        held.add(slot)
      }
      let released = false
      return {
        ok: true,
        release () {
          if (released) return
          released = true
          for (const key of keys) {
            const held = slots.get(key)
            held?.delete(slot)
            if (held?.size === 0) slots.delete(key)
          }
        }
      }
    },
    open: (claim) => slots.get(keyOf(claim))?.size ?? 0
  }
}
