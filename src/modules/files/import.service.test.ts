import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Principal } from '../../access/permissions.ts'
import type { AudioFile } from '../../db/schema.ts'
import { HttpProblem } from '../../http/problem.ts'
import { ImportError } from './import/import-error.ts'
import { importService, type ImportServiceDeps } from './import.service.ts'

const principal = { userId: 'u1' } as Principal
const staged = { path: '/staging/x', size: 10, sha256: 'ab' }
const silent = { info: () => {} }

function fakes (fetch: ImportServiceDeps['importer']['fetch']) {
  const refused: unknown[] = []
  const accepted: unknown[] = []
  const tooLarge = new HttpProblem(413, 'Content Too Large', 'too big')
  const service = importService({
    files: {
      uploadAllowance: async () => ({ maxBytes: 1000, quotaLimited: false, remainingBytes: Infinity }),
      sizeProblem: () => tooLarge,
      accept: async (_p, s, input) => { accepted.push([s, input]); return { id: 'f1' } as AudioFile }
    },
    importer: { fetch },
    metrics: { uploadRefused: (error) => { refused.push(error) } }
  })
  return { service, refused, accepted, tooLarge }
}

describe('importService.importUrl', () => {
  it('downloads within the allowance and accepts the result as an import', async () => {
    const seen: number[] = []
    const { service, accepted } = fakes(async (_url, maxBytes) => { seen.push(maxBytes); return { staged, name: 'a.mp3', sourceUrl: 'https://example.test/a.mp3' } })
    const { file, sourceUrl } = await service.importUrl(principal, 'https://example.test/a.mp3', silent)
    assert.deepEqual([file.id, sourceUrl, seen], ['f1', 'https://example.test/a.mp3', [1000]])
    assert.deepEqual(accepted, [[staged, { name: 'a.mp3', source: 'import', sourceUrl: 'https://example.test/a.mp3' }]])
  })

  it('answers a download past the allowance with the size problem, counted once', async () => {
    const { service, refused, tooLarge } = fakes(async () => { throw new ImportError('too_large', 'too large') })
    await assert.rejects(service.importUrl(principal, 'https://example.test/big', silent), (error) => error === tooLarge)
    assert.deepEqual(refused, [tooLarge])
  })

  it('answers another refusal 422 with its reason, and logs the cause', async () => {
    const logged: unknown[] = []
    const refusal = new ImportError('address', 'example.test resolves to a private address', { cause: new Error('10.0.0.1') })
    const { service, refused } = fakes(async () => { throw refusal })
    await assert.rejects(service.importUrl(principal, 'https://example.test/', { info: (obj: unknown) => { logged.push(obj) } }), (error: unknown) =>
      error instanceof HttpProblem && error.status === 422 && error.message === refusal.message && error.extra.reason === 'address')
    assert.deepEqual(refused, [refusal])
    assert.deepEqual(logged, [{ reason: 'address', err: refusal.cause }])
  })

  it('lets an unexpected error through uncounted', async () => {
    const bug = new TypeError('bug')
    const { service, refused } = fakes(async () => { throw bug })
    await assert.rejects(service.importUrl(principal, 'https://example.test/', silent), (error) => error === bug)
    assert.deepEqual(refused, [])
  })
})
