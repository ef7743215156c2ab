import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { after, describe, it } from 'node:test'
import { batchedFileWriter } from './batched-file.ts'

describe('batchedFileWriter', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-batched-'))
  after(() => { fs.rmSync(dir, { recursive: true, force: true }) })
  const file = (name: string) => path.join(dir, name)

  it('writes every byte in order, across batches and a last partial one, with its mode', async () => {
    const bytes = randomBytes(3 * 1000 + 17)
    const pieces = Array.from({ length: Math.ceil(bytes.length / 100) }, (_, i) => bytes.subarray(i * 100, (i + 1) * 100))
    await pipeline(Readable.from(pieces), batchedFileWriter(file('a'), { flags: 'wx', mode: 0o600, batch: 1000 }))
    assert.deepEqual(fs.readFileSync(file('a')), bytes)
    assert.equal(fs.statSync(file('a')).mode & 0o777, 0o600)
  })

  it('fails with ENOSPC on a full disk, after writing what fit (a short write is not the error)', async () => {
    const small = path.join(dir, 'small-disk')
    fs.mkdirSync(small)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small])
    try {
      const stream = batchedFileWriter(path.join(small, 'big'), { flags: 'wx', batch: 768 * 1024 })
      const failed = once(stream, 'error') as Promise<[NodeJS.ErrnoException]>
      for (let i = 0; i < 4; i++) stream.write(randomBytes(512 * 1024))
      stream.end()
      const [error] = await failed
      assert.equal(error.code, 'ENOSPC', String(error))
    } finally {
      execFileSync('umount', [small])
    }
  })

  it('refuses to replace an existing file with wx', async () => {
    fs.writeFileSync(file('b'), 'kept')
    const stream = batchedFileWriter(file('b'), { flags: 'wx' })
    const [error] = await once(stream, 'error') as [NodeJS.ErrnoException]
    assert.equal(error.code, 'EEXIST')
    assert.equal(fs.readFileSync(file('b'), 'utf8'), 'kept')
  })

  it('writes into an existing file from an offset with r+', async () => {
    fs.writeFileSync(file('c'), 'hello world')
    await pipeline(Readable.from([Buffer.from('W'), Buffer.from('ORLD')]), batchedFileWriter(file('c'), { flags: 'r+', start: 6 }))
    assert.equal(fs.readFileSync(file('c'), 'utf8'), 'hello WORLD')
  })

  it('is destroyed with its source\'s failure', async () => {
    const stream = batchedFileWriter(file('d'), { flags: 'wx', batch: 10 })
    await once(stream, 'open')
    await assert.rejects(pipeline(Readable.from((async function * () { yield Buffer.alloc(20); throw new Error('source failed') })()), stream), /source failed/)
    assert.equal(stream.destroyed, true)
  })
})
