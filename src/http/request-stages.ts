import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler } from 'fastify'

/** One step of the request hook: synchronous when it can be, a promise only when it must wait. */
export type RequestStage = (request: FastifyRequest, reply: FastifyReply) => void | Promise<void>

/**
 * Several onRequest steps as one hook, run in order. A step that throws or rejects ends the
 * chain with its error, as an async hook that throws would. Fastify runs each async hook
 * through a promise and a microtask; most steps finish at once (a cache hit, an in-memory
 * counter), so here they run in one callback and only a step that waits costs a promise.
 */
export function requestStages (...stages: (RequestStage | undefined)[]): onRequestHookHandler {
  const steps = stages.filter((stage) => stage !== undefined)
  return function requestStagesHook (request, reply, done) {
    run(steps, 0, request, reply, done)
  }
}

function run (steps: RequestStage[], from: number, request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
  for (let i = from; i < steps.length; i++) {
    let pending: void | Promise<void>
    try {
      pending = (steps[i] as RequestStage)(request, reply)
    } catch (error) {
      done(error as Error)
      return
    }
    if (pending !== undefined) {
      pending.then(() => run(steps, i + 1, request, reply, done), done)
      return
    }
  }
  done()
}
