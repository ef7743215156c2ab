import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { FastifyError, FastifyRequest } from 'fastify'
import { problemParts } from './error-handler.ts'
import { unavailableMark } from './problem.ts'

const logged: string[] = []
const request = { log: { warn: (_o: unknown, message: string) => { logged.push(message) }, error: (_o: unknown, message: string) => { logged.push(message) } } } as unknown as FastifyRequest
const marked = (what: string, retryAfterSec: number) =>
  Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432 password=secret'), { code: 'ECONNREFUSED', unavailable: { what, retryAfterSec } }) as unknown as FastifyError

describe('errors marked unavailable', () => {
  it('are answered 503 "<What> unavailable" with Retry-After, and nothing of the error itself', () => {
    const parts = problemParts(marked('database', 5), request)
    assert.deepEqual(parts, {
      status: 503,
      title: 'Database unavailable',
      detail: 'The database is not reachable right now; retry in 5 s',
      extra: {},
      headers: { 'retry-after': '5' }
    })
    assert.ok(logged.some((line) => line.includes('database is unavailable')))
  })

  it('round a fractional or zero retry up to a whole second', () => {
    assert.equal(problemParts(marked('object store', 0.2), request).headers['retry-after'], '1')
    assert.equal(problemParts(marked('object store', 0), request).title, 'Object store unavailable')
  })

  it('need both parts of the mark: anything else stays a plain 500', () => {
    assert.equal(unavailableMark(Object.assign(new Error('x'), { unavailable: { what: 'database' } })), undefined)
    assert.equal(unavailableMark(Object.assign(new Error('x'), { unavailable: true })), undefined)
    assert.equal(unavailableMark(null), undefined)
    assert.equal(problemParts(new Error('boom') as FastifyError, request).status, 500)
  })
})
