/**
 * In-process cache of what authentication reads on every request (an API key with its owner,
 * a session with its owner), so that the hot path does no SQL. Correctness rests on
 * invalidation, not on the TTL: every write that can revoke or change a credential clears
 * the cache in this process at once and, through the revocation bus, in every other process
 * on the same PostgreSQL. The TTL only bounds the damage of a lost notification.
 *
 * A read that began before a clear must not repopulate the cache with what it read: `begin()`
 * hands out the generation, and `set()` drops values from an older generation.
 */
export interface AuthCache<V> {
  begin: () => number
  get: (key: string, now?: number) => V | undefined
  set: (key: string, value: V, generation: number, now?: number) => void
  clear: () => void
  readonly size: number
}

export function authCache<V> (options: { ttlMs: number, maxEntries: number }): AuthCache<V> {
  const entries = new Map<string, { value: V, until: number }>()
  let generation = 0
  return {
    begin: () => generation,
    get (key, now = Date.now()) {
      const entry = entries.get(key)
      if (!entry) return undefined
      if (entry.until <= now) {
        entries.delete(key)
        return undefined
      }
      return entry.value
    },
    set (key, value, startedAt, now = Date.now()) {
      if (startedAt !== generation) return
      if (entries.size >= options.maxEntries) {
        // Maps iterate in insertion order: drop the oldest entry.
        const oldest = entries.keys().next().value
        if (oldest !== undefined) entries.delete(oldest)
      }
      entries.set(key, { value, until: now + options.ttlMs })
    },
    clear () {
      generation++
      entries.clear()
    },
    get size () { return entries.size }
  }
}
