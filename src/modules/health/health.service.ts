const READY_TIMEOUT_MS = 2000

export interface ReadinessCheck {
  /** Named in the 503 detail: "The <what> is not reachable". */
  what: string
  ping: () => Promise<void>
}

/** Readiness: each dependency answers within a bound, checked in order; the first that does not is named. */
export function healthService (checks: ReadinessCheck[], timeoutMs = READY_TIMEOUT_MS) {
  return {
    async firstUnready (): Promise<{ what: string, error: unknown } | undefined> {
      for (const { what, ping } of checks) {
        try {
          await withTimeout(ping(), timeoutMs)
        } catch (error) {
          return { what, error }
        }
      }
      return undefined
    }
  }
}

function withTimeout<T> (promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms) })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export type HealthService = ReturnType<typeof healthService>
