import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isConnectionError, markUnavailable } from './unavailable.ts'

const withCode = (code: string, message = 'failed') => Object.assign(new Error(message), { code })

describe('isConnectionError', () => {
  it('knows the server unreachable, shutting down or starting up, and a dropped or timed-out connection', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '08006', '53300']) assert.ok(isConnectionError(withCode(code)), code)
    assert.ok(isConnectionError(new Error('Connection terminated unexpectedly')))
    assert.ok(isConnectionError(new Error('timeout exceeded when trying to connect')))
    assert.ok(isConnectionError(new AggregateError([withCode('ECONNREFUSED')], '')), 'node reports a refused dual-stack connect as an AggregateError')
  })

  it('leaves a query\'s own failures alone: they are the caller\'s to answer', () => {
    for (const code of ['23505', '42P01', '22P02', '40001']) assert.equal(isConnectionError(withCode(code)), false, code)
    assert.equal(isConnectionError(new Error('relation "x" does not exist')), false)
    assert.equal(isConnectionError('ECONNREFUSED'), false)
    assert.equal(isConnectionError(undefined), false)
  })
})

describe('markUnavailable', () => {
  it('marks a connection error for a 503 and keeps its code; any other error passes unmarked', () => {
    const refused = withCode('ECONNREFUSED')
    assert.equal(markUnavailable(refused), refused)
    // The shape src/http/problem.ts reads (this layer may not import it).
    assert.deepEqual((refused as { unavailable?: unknown }).unavailable, { what: 'database', retryAfterSec: 5 })
    assert.equal(refused.code, 'ECONNREFUSED')
    const duplicate = withCode('23505')
    assert.equal(markUnavailable(duplicate), duplicate)
    assert.equal('unavailable' in duplicate, false)
  })
})
