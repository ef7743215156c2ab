import { addressKey } from '../../guard/rate-limit.policy.ts'
import type { Principal } from '../../access/permissions.ts'
import { memorySlots, type SlotStore } from '../../guard/slot.store.ts'

/**
 * Counts the event streams open by their owners, so that one caller cannot
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
  /** `lifeMs`: the stream ends within this long at the latest; a refusal says how long until a slot frees. */
  acquire: (claims: readonly StreamClaim[], lifeMs: number) => Promise<Acquired>
  open: (claim: StreamClaim) => Promise<number>
}

/**
 * The streams' slots in a slot store: this process's memory, or Redis so that the limits
 * hold across every API node.
 */
export function streamLimiter (limits: StreamLimits, store: SlotStore = memorySlots()): StreamLimiter {
  const keyOf = (claim: StreamClaim) => `${claim.bucket}:${claim.id}`
  return {
    async acquire (claims, lifeMs) {
      const granted = await store.acquire(claims.map((claim) => ({ key: keyOf(claim), limit: limits[claim.bucket] })), lifeMs)
      if (granted.ok) return granted
      const bucket = claims[granted.refused]!.bucket
      return { ok: false, bucket, limit: limits[bucket], retryAfterMs: granted.retryAfterMs }
    },
    open: (claim) => store.open(keyOf(claim))
  }
}
