import type { EngineStatus } from '../../engines/engine.ts'
import type { Engines } from '../../engines/registry.ts'

// Installing a package should show up without a restart, but asking every binary for its
// version on every job creation would cost a process spawn per request.
const STATUS_TTL_MS = 60_000

export function enginesService (engines: Engines) {
  let cached: { at: number, statuses: Promise<EngineStatus[]> } | undefined
  const probe = () => Promise.all(engines.all().map(async (engine) => engine.status().catch((error: unknown): EngineStatus => ({
    name: engine.name, available: false, package: '', detail: `status check failed: ${(error as Error).message}`
  }))))

  async function list (): Promise<EngineStatus[]> {
    if (!cached || Date.now() - cached.at > STATUS_TTL_MS) cached = { at: Date.now(), statuses: probe() }
    return cached.statuses
  }

  return {
    list,
    async status (name: string): Promise<EngineStatus | undefined> {
      return (await list()).find((s) => s.name === name)
    }
  }
}

export type EnginesService = ReturnType<typeof enginesService>
