import { EngineError } from '../engine.ts'

/**
 * Runs tasks at once, each with a signal that aborts when the caller's does or when a sibling
 * fails (its processes are then useless). Settles only after every task has, so no child
 * process outlives the run; the error is the first real failure, or `canceled`.
 */
export async function runAll<T> (tasks: Array<(signal: AbortSignal) => Promise<T>>, signal: AbortSignal): Promise<T[]> {
  const controller = new AbortController()
  const stop = () => { controller.abort() }
  if (signal.aborted) stop()
  signal.addEventListener('abort', stop, { once: true })
  try {
    const settled = await Promise.allSettled(tasks.map(async (task) => {
      try {
        return await task(controller.signal)
      } catch (error) {
        stop()
        throw error
      }
    }))
    const failures = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
    if (signal.aborted) throw new EngineError('canceled', 'The job was canceled.')
    if (failures.length > 0) throw failures.find((e) => !(e instanceof EngineError && e.kind === 'canceled')) ?? failures[0]
    return settled.map((r) => (r as PromiseFulfilledResult<T>).value)
  } finally {
    signal.removeEventListener('abort', stop)
  }
}
