import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { requestStages, type RequestStage } from './request-stages.ts'

const request = {} as FastifyRequest
const reply = {} as FastifyReply

/** Runs the hook; resolves with what it passed to done. */
function runHook (...stages: (RequestStage | undefined)[]): { result: Promise<unknown> } {
  const result = new Promise((resolve) => {
    requestStages(...stages).call(undefined as never, request, reply, (error?: unknown) => resolve(error))
  })
  return { result }
}

describe('requestStages', () => {
  it('runs the stages in order, skipping absent ones, and ends without an error', async () => {
    const seen: string[] = []
    const { result } = runHook(() => { seen.push('a') }, undefined, async () => { seen.push('b') }, () => { seen.push('c') })
    assert.equal(await result, undefined)
    assert.deepEqual(seen, ['a', 'b', 'c'])
  })

  it('calls done synchronously when no stage waits', () => {
    let called = false
    requestStages(() => {}, () => {}).call(undefined as never, request, reply, () => { called = true })
    assert.equal(called, true)
  })

  it('waits for a stage that returns a promise before the next one', async () => {
    const seen: string[] = []
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => { release = resolve })
    const { result } = runHook(() => gate.then(() => { seen.push('slow') }), () => { seen.push('next') })
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(seen, [])
    release()
    await result
    assert.deepEqual(seen, ['slow', 'next'])
  })

  it('stops at a stage that throws or rejects, passing its error on', async () => {
    const thrown = new Error('thrown')
    const rejected = new Error('rejected')
    let after = 0
    assert.equal(await runHook(() => { throw thrown }, () => { after++ }).result, thrown)
    assert.equal(await runHook(async () => { throw rejected }, () => { after++ }).result, rejected)
    assert.equal(after, 0)
  })
})
