import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { storageFailure, storageFailureKind } from './storage-errors.ts'

const errno = (code: string) => Object.assign(new Error(`${code}: write failed, /data/files/staging/x.part`), { code })

describe('storage failure marks', () => {
  it('reads a mark, and a full disk anywhere in the cause chain', () => {
    assert.equal(storageFailureKind(storageFailure('unavailable', new Error('connect ECONNREFUSED'))), 'unavailable')
    assert.equal(storageFailureKind(storageFailure('full', errno('ENOSPC'))), 'full')
    assert.equal(storageFailureKind(errno('ENOSPC')), 'full')
    assert.equal(storageFailureKind(errno('EDQUOT')), 'full')
    assert.equal(storageFailureKind(new Error('tus could not write', { cause: errno('ENOSPC') })), 'full')
  })

  it('leaves every other error unmarked', () => {
    for (const error of [new Error('client went away'), errno('ENOENT'), errno('EACCES'), 'ENOSPC', undefined, { code: 'ENOSPC' }]) {
      assert.equal(storageFailureKind(error), undefined, String(error))
    }
  })

  it('keeps the driver\'s error as the cause, and a generic message of its own', () => {
    const cause = new Error('getaddrinfo ENOTFOUND bucket.internal')
    const failure = storageFailure('unavailable', cause)
    assert.equal(failure.message, 'storage unavailable')
    assert.equal(failure.cause, cause)
  })
})
