import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { text } from 'node:stream/consumers'
import { describe, it } from 'node:test'
import { opened } from './opened.ts'

describe('opened', () => {
  it('hands back a stream that still yields every byte, the empty one included', async () => {
    assert.equal(await text(await opened(Readable.from(['a', 'b', 'c'], { objectMode: false }))), 'abc')
    assert.equal(await text(await opened(Readable.from([], { objectMode: false }))), '')
  })

  it('rejects with the error of a stream that fails before its first byte', async () => {
    const failing = new Readable({ read () { this.destroy(new Error('store down')) } })
    await assert.rejects(opened(failing), /store down/)
  })
})
