import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { text } from 'node:stream/consumers'
import { describe, it } from 'node:test'
import { HttpProblem } from '../../http/problem.ts'
import type { Measured, ProbeResult } from '../../media/probe.ts'
import { uploadRejectionReason, type UploadRejectionReason } from '../../observability/metrics.ts'
import { fakeFilesRepository, fileRow, principal, testConfig } from '../../testing/fakes.ts'
import { fakeStorage } from '../../testing/fake-storage.ts'
import { filesService } from './files.service.ts'
import type { Staged } from './staging.ts'

const MB = 1024 * 1024

/** A 16-bit PCM WAV: `declared` is the data size its header states (a forger's lie if it differs). */
function wav (dataBytes: number, declared = dataBytes, sampleRate = 8000): Buffer {
  const header = Buffer.alloc(44)
  header.write('RIFF', 0, 'ascii')
  header.writeUInt32LE(36 + dataBytes, 4)
  header.write('WAVEfmt ', 8, 'ascii')
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20)
  header.writeUInt16LE(1, 22)
  header.writeUInt32LE(sampleRate, 24)
  header.writeUInt32LE(sampleRate * 2, 28)
  header.writeUInt16LE(2, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36, 'ascii')
  header.writeUInt32LE(declared, 40)
  return Buffer.concat([header, Buffer.alloc(dataBytes)])
}

const ONE_SECOND = wav(16000)

const probeOf = (durationSec: number): ProbeResult => ({
  formatName: 'wav',
  durationSec,
  bitRate: 128000,
  streams: [{ codecType: 'audio', codecName: 'pcm_s16le', sampleRate: 8000, channels: 1, attachedPicture: false, bitsPerSample: 16, durationSec }]
})

interface Tools { probe?: ProbeResult | undefined, measure?: Measured, decodes?: boolean }

function setup (options: { env?: Record<string, string>, tools?: Tools } = {}) {
  const config = testConfig({ MAX_DURATION_SECONDS: '60', QUOTA_MB_FREE: '1', MAX_FILE_SIZE_MB: '500', ...options.env })
  const files = fakeFilesRepository()
  const storage = fakeStorage()
  const tools: Tools = { probe: probeOf(1), decodes: true, ...options.tools }
  const calls: string[] = []
  // The signal each decode check was given: a refusal by ffprobe or the policy aborts it.
  const decodeSignals: (AbortSignal | undefined)[] = []
  const media = {
    async probe () { calls.push('probe'); return tools.probe },
    async measure () { calls.push('measure'); return tools.measure },
    async decodes (_file: string, _untilEnd?: boolean, signal?: AbortSignal) { calls.push('decodes'); decodeSignals.push(signal); return tools.decodes ?? false }
  }
  const refused: (UploadRejectionReason | undefined)[] = []
  const service = filesService({ config, files, storage, workspace: storage.workspace, media, metrics: { uploadRefused: (error) => { const reason = uploadRejectionReason(error); refused.push(reason); return reason } } })
  async function stage (bytes: Buffer): Promise<Staged> {
    const staged = await storage.stage()
    await new Promise<void>((resolve, reject) => { staged.stream.on('error', reject).end(bytes, resolve) })
    return { path: staged.path, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }
  }
  const decodeStopped = () => decodeSignals.map((signal) => signal?.aborted === true)
  return { service, files, storage, calls, refused, stage, decodeStopped }
}

/** Runs accept() on `bytes` named `name`; returns the refusal, checking that nothing stayed. */
async function refusal (t: ReturnType<typeof setup>, name: string, bytes: Buffer): Promise<HttpProblem> {
  const staged = await t.stage(bytes)
  const error = await t.service.accept(principal(), staged, { name, source: 'upload' }).then(() => undefined, (e: unknown) => e)
  assert.ok(error instanceof HttpProblem, `expected a refusal, got ${String(error)}`)
  assert.equal(fs.existsSync(staged.path), false, 'the staged bytes are removed')
  assert.equal(t.files.rows.size, 0)
  assert.equal(t.storage.objects.size, 0)
  return error
}

describe('files service: accept() refuses in order, keeping nothing', () => {
  it('1. a name too long or an extension off the allow-list, before any tool runs', async () => {
    const t = setup()
    const long = await refusal(t, `${'a'.repeat(1100)}.wav`, ONE_SECOND)
    assert.equal(long.status, 400)
    const ext = await refusal(t, 'notes.txt', ONE_SECOND)
    assert.equal(ext.status, 415)
    assert.match(ext.message, /^File type not allowed: the name must end in one of \.mp3 \.wav/)
    assert.deepEqual(t.calls, [])
    assert.deepEqual(t.refused, ['name', 'extension'])
  })

  it('2. an empty file, then bytes that are not what the extension says', async () => {
    const t = setup()
    assert.equal((await refusal(t, 'a.wav', Buffer.alloc(0))).message, 'The file is empty')
    const text = await refusal(t, 'a.wav', Buffer.from('just some text, not audio at all'))
    assert.equal(text.status, 415)
    assert.equal(text.message, 'The content is not WAV audio (unrecognised bytes)')
    const wrong = await refusal(t, 'a.mp3', ONE_SECOND)
    assert.equal(wrong.message, 'The content is WAV, not MP3: the name\'s extension must match the bytes')
    assert.deepEqual(t.calls, [])
    assert.deepEqual(t.refused, ['decode', 'magic', 'magic'])
  })

  it('3. a WAV header that promises more than the file holds, before ffprobe is asked', async () => {
    const t = setup()
    const forged = await refusal(t, 'a.wav', wav(16000, 10 * 16000 * 3600))
    assert.equal(forged.status, 422)
    assert.match(forged.message, /^The file is truncated or forged: its WAV header promises 36000 s of audio but it holds 1 s$/)
    assert.deepEqual(t.calls, [])
  })

  it('4. what ffprobe cannot read, stopping the decode check that runs beside it', async () => {
    const t = setup({ tools: { probe: undefined, decodes: false } })
    assert.equal((await refusal(t, 'a.wav', ONE_SECOND)).message, 'The file could not be read as WAV audio')
    assert.deepEqual(t.calls, ['probe', 'decodes'])
    assert.deepEqual(t.decodeStopped(), [true])
  })

  it('5. what the policy judges too long, counted as a duration refusal, before the decode verdict', async () => {
    const t = setup({ tools: { probe: probeOf(120), decodes: false } })
    const long = await refusal(t, 'a.wav', wav(120 * 16000))
    assert.equal(long.message, 'The audio lasts 120 s; the limit is 60 s')
    assert.deepEqual(t.calls, ['probe', 'decodes'])
    assert.deepEqual(t.decodeStopped(), [true])
    assert.deepEqual(t.refused, ['duration'])
  })

  it('5b. a streamed WAV whose length cannot be measured', async () => {
    const t = setup({ tools: { measure: undefined } })
    const streamed = await refusal(t, 'a.wav', wav(16000, 0xffffffff))
    assert.equal(streamed.message, 'The file does not state its length, and it does not decode for it to be measured')
    assert.deepEqual(t.calls, ['probe', 'decodes', 'measure'])
    assert.deepEqual(t.decodeStopped(), [true])
  })

  it('6. audio that does not decode cleanly', async () => {
    const t = setup({ tools: { decodes: false } })
    assert.equal((await refusal(t, 'a.wav', ONE_SECOND)).message, 'The audio is corrupt: it does not decode cleanly')
    assert.deepEqual(t.calls, ['probe', 'decodes'])
    assert.deepEqual(t.refused, ['decode'])
  })

  it('7. a file past the quota, counting stored files and open uploads, last of all', async () => {
    const t = setup()
    const alice = principal()
    t.files.rows.set('old', fileRow(alice.userId, { id: 'old', size: MB - 9000 }))
    t.files.reservations.set('upload-1', { ownerId: alice.userId, size: 5000 })
    const staged = await t.stage(ONE_SECOND)
    const error = await t.service.accept(alice, staged, { name: 'a.wav', source: 'upload' }).catch((e: unknown) => e)
    assert.ok(error instanceof HttpProblem)
    assert.equal(error.status, 413)
    assert.equal(error.message, 'Storage quota exceeded: 0.0 MB of your quota remain')
    assert.deepEqual(error.extra, { remainingBytes: 4000 })
    assert.deepEqual(t.calls, ['probe', 'decodes'])
    assert.deepEqual(t.refused, ['quota'])
    assert.equal(fs.existsSync(staged.path), false)
    assert.deepEqual([...t.files.rows.keys()], ['old'])
  })

  it('keeps no record when storing the bytes fails', async () => {
    const t = setup()
    t.storage.faults.put = new Error('disk full')
    const staged = await t.stage(ONE_SECOND)
    await assert.rejects(t.service.accept(principal(), staged, { name: 'a.wav', source: 'upload' }), /disk full/)
    assert.equal(t.files.rows.size, 0)
    assert.equal(fs.existsSync(staged.path), false)
  })

  it('keeps no record when writing the bytes back to disk ahead of the commit fails', async () => {
    const t = setup()
    t.storage.faults.flushAhead = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })
    const staged = await t.stage(ONE_SECOND)
    await assert.rejects(t.service.accept(principal(), staged, { name: 'a.wav', source: 'upload' }), /EIO/)
    assert.equal(t.files.rows.size, 0)
    assert.equal(t.storage.objects.size, 0)
    assert.equal(fs.existsSync(staged.path), false)
  })
})

describe('files service: accept() stores a good file', () => {
  it('records the probed facts under a clean name and commits the bytes', async () => {
    const t = setup()
    const alice = principal()
    const staged = await t.stage(ONE_SECOND)
    const file = await t.service.accept(alice, staged, { name: '../../etc/My Talk.wav', source: 'upload' })
    assert.equal(file.owner_id, alice.userId)
    assert.equal(file.format, 'wav')
    assert.doesNotMatch(file.name, /[/\\]/)
    assert.match(file.name, /\.wav$/)
    assert.deepEqual([file.duration_sec, file.sample_rate, file.channels, file.codec, file.size, file.sha256], [1, 8000, 1, 'pcm_s16le', ONE_SECOND.length, staged.sha256])
    assert.deepEqual(t.storage.objects.get(file.id), ONE_SECOND)
    assert.deepEqual(t.storage.discarded, [])
    assert.deepEqual(t.refused, [])
  })

  it('turns a resumable upload\'s reservation into the file, so its bytes count once', async () => {
    const t = setup()
    const alice = principal()
    t.files.reservations.set('upload-1', { ownerId: alice.userId, size: MB - 100 })
    const staged = await t.stage(ONE_SECOND)
    await t.service.accept(alice, staged, { name: 'a.wav', source: 'resumable', resumableId: 'upload-1' })
    assert.equal(t.files.reservations.has('upload-1'), false)
    assert.equal(await t.files.usedBytes(alice.userId), ONE_SECOND.length)
  })
})

describe('files service: allowance', () => {
  it('is the file cap, or less when the quota is nearer; open uploads count in full', async () => {
    const t = setup()
    const alice = principal()
    assert.deepEqual(await t.service.uploadAllowance(alice), { maxBytes: MB, quotaLimited: true, remainingBytes: MB })
    t.files.reservations.set('u', { ownerId: alice.userId, size: MB - 10 })
    assert.deepEqual(await t.service.uploadAllowance(alice), { maxBytes: 10, quotaLimited: true, remainingBytes: 10 })
    const problem = t.service.sizeProblem(await t.service.uploadAllowance(alice))
    assert.equal(problem.status, 413)
    assert.match(problem.message, /^Storage quota exceeded/)
    // Enterprise has no quota (0): only the file cap applies.
    assert.deepEqual(await t.service.uploadAllowance(principal('member', 'enterprise')), { maxBytes: 500 * MB, quotaLimited: false, remainingBytes: Infinity })
    assert.equal(t.service.sizeProblem({ maxBytes: 500 * MB, quotaLimited: false, remainingBytes: Infinity }).message, 'The file exceeds the 500 MB limit')
  })
})

describe('files service: reading and deleting', () => {
  it('answers 404 for another user\'s file and an expired one, whatever the action', async () => {
    const t = setup()
    const alice = principal()
    const bob = principal()
    const file = fileRow(alice.userId)
    const expired = fileRow(alice.userId, { expires_at: new Date(Date.now() - 1) })
    t.files.rows.set(file.id, file).set(expired.id, expired)
    t.storage.objects.set(file.id, Buffer.from('bytes'))
    for (const attempt of [t.service.get(bob, file.id), t.service.content(bob, file.id), t.service.delete(bob, file.id), t.service.get(alice, expired.id)]) {
      await assert.rejects(attempt, (error) => error instanceof HttpProblem && error.status === 404 && error.message === 'File was not found')
    }
    assert.ok(t.files.rows.has(file.id))
    assert.ok(t.storage.objects.has(file.id))
  })

  it('serves a byte range of the owner\'s file, and deletes record and bytes', async () => {
    const t = setup()
    const alice = principal()
    const file = fileRow(alice.userId)
    t.files.rows.set(file.id, file)
    t.storage.objects.set(file.id, Buffer.from('0123456789'))
    assert.equal(await text((await t.service.content(alice, file.id, { start: 2, end: 4 })).stream), '234')
    await t.service.delete(alice, file.id)
    assert.equal(t.files.rows.has(file.id), false)
    assert.equal(t.storage.objects.has(file.id), false)
  })

  it('lists the owner\'s live files a page at a time', async () => {
    const t = setup()
    const alice = principal()
    const rows = [1, 2, 3].map((n) => fileRow(alice.userId, { created_at: new Date(Date.now() - n * 1000) }))
    for (const f of [...rows, fileRow(principal().userId), fileRow(alice.userId, { expires_at: new Date(0) })]) t.files.rows.set(f.id, f)
    const first = await t.service.list(alice, 2)
    assert.deepEqual(first.items.map((f) => f.id), [rows[0]!.id, rows[1]!.id])
    const second = await t.service.list(alice, 2, first.nextCursor!)
    assert.deepEqual(second.items.map((f) => f.id), [rows[2]!.id])
    assert.equal(second.nextCursor, null)
  })

  it('exports the user\'s files with their import URL, and erases them with their bytes', async () => {
    const t = setup()
    const alice = principal()
    const mine = fileRow(alice.userId, { source: 'import', source_url: 'https://example.org/a.mp3' })
    const theirs = fileRow(principal().userId)
    t.files.rows.set(mine.id, mine).set(theirs.id, theirs)
    t.storage.objects.set(mine.id, Buffer.from('a')).set(theirs.id, Buffer.from('b'))
    const exported = await t.service.personalData.export(alice.userId)
    assert.deepEqual(exported.map((f) => [f.id, f.sourceUrl]), [[mine.id, 'https://example.org/a.mp3']])
    await t.service.personalData.erase(alice.userId)
    assert.deepEqual([...t.files.rows.keys()], [theirs.id])
    assert.deepEqual([...t.storage.objects.keys()], [theirs.id])
  })
})
