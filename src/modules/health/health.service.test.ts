import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { healthService } from './health.service.ts'

describe('healthService.firstUnready', () => {
  it('is undefined when every check answers', async () => {
    assert.equal(await healthService([{ what: 'database', ping: async () => {} }]).firstUnready(), undefined)
  })

  it('names the first check that fails, and stops there', async () => {
    let later = false
    const broken = new Error('refused')
    const health = healthService([
      { what: 'database', ping: async () => {} },
      { what: 'file storage', ping: async () => { throw broken } },
      { what: 'other', ping: async () => { later = true } }
    ])
    assert.deepEqual(await health.firstUnready(), { what: 'file storage', error: broken })
    assert.equal(later, false)
  })

  it('counts a check that hangs past the bound as failed', async () => {
    const health = healthService([{ what: 'database', ping: () => new Promise(() => {}) }], 20)
    const unready = await health.firstUnready()
    assert.equal(unready?.what, 'database')
    assert.match((unready?.error as Error).message, /timed out after 20 ms/)
  })
})
