import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { PassThrough } from 'node:stream'
import { describe, it } from 'node:test'
import { drainBody } from './multipart-upload.ts'

const body = () => new PassThrough() as unknown as IncomingMessage & PassThrough

describe('drainBody', () => {
  it('reads a body to its end within the bounds', async () => {
    const raw = body()
    const drained = drainBody(raw, 1024, 1000)
    raw.write(Buffer.alloc(600))
    raw.end(Buffer.alloc(400))
    assert.equal(await drained, true)
  })

  it('gives up past the byte bound', async () => {
    const raw = body()
    const drained = drainBody(raw, 1024, 1000)
    raw.write(Buffer.alloc(2048))
    assert.equal(await drained, false)
  })

  it('gives up past the time bound (a client that trickles)', async () => {
    const raw = body()
    const started = Date.now()
    raw.write(Buffer.alloc(10))
    assert.equal(await drainBody(raw, 1024, 50), false)
    assert.ok(Date.now() - started < 1000)
  })

  it('reads nothing with a bound of 0', async () => {
    assert.equal(await drainBody(body(), 0, 1000), false)
  })
})
