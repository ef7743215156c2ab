import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { storageFailure } from '../storage/storage-errors.ts'
import { storageProblem } from './error-handler.ts'

describe('storageProblem', () => {
  it('answers an unavailable store with 503 and Retry-After, and a full disk with 507, in words of its own', () => {
    const unavailable = storageProblem(storageFailure('unavailable', new Error('connect ECONNREFUSED 10.0.0.5:9000 (bucket secret-bucket)')))
    assert.equal(unavailable?.status, 503)
    assert.equal(unavailable?.title, 'Service Unavailable')
    assert.ok(Number(unavailable?.headers['retry-after']) > 0)
    const full = storageProblem(Object.assign(new Error('ENOSPC: no space left on device, write /srv/tympan/files/staging/a.part'), { code: 'ENOSPC' }))
    assert.equal(full?.status, 507)
    assert.equal(full?.title, 'Insufficient Storage')
    for (const problem of [unavailable, full]) assert.doesNotMatch(JSON.stringify(problem), /ECONNREFUSED|10\.0\.0\.5|secret-bucket|ENOSPC|\/srv/)
  })

  it('leaves other errors to the rest of the handler', () => {
    assert.equal(storageProblem(new Error('boom')), undefined)
  })
})
