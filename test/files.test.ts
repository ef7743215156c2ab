import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import fs from 'node:fs'
import http from 'node:http'
import net, { type AddressInfo, type Socket } from 'node:net'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import type { User } from '../src/db/schema.ts'
import { backends } from './helpers/db.ts'
import { startApp, type Session, type TestApp } from './helpers/app.ts'
import { GOOD_FORMATS, multipart, readFixture, SHAPE_DURATION_SEC, SHAPES, sha256Of, shape, type Fixture } from './helpers/audio.ts'

const MB = 1024 * 1024
// One app per backend serves every test: a 1 MB file cap (so "over the limit" costs ~20 MB
// of loopback, not 500), 12 MB of a refused body drained before the answer, an 8 s duration
// cap (the long fixture lasts 10 s) and a 1 MB quota for the free tier. Everyone but the quota user is
// premium, whose quota (20 GB) never interferes; every good fixture is below 1 MB.
const OVERRIDES = { MAX_FILE_SIZE_MB: '1', QUOTA_MB_FREE: '1', MAX_DURATION_SECONDS: '8', UPLOAD_DRAIN_MAX_MB: '12' }
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
// What a stored display name must never contain (separators, controls, bidi and invisible format characters).
const UNSAFE_NAME = /[/\\\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/ // eslint-disable-line no-control-regex

interface Actor {
  user: User
  session: Session
  key: string
}

type Credentials = { key: string } | { session: Session }

const authHeaders = (as: Credentials): Record<string, string> =>
  'key' in as ? { 'x-api-key': as.key } : { cookie: as.session.cookie, 'x-csrf-token': as.session.csrfToken }

/** Every regular file below `dir` (none if it does not exist). */
function filesUnder (dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
}

function assertProblem (res: LightMyRequestResponse, status: number | number[], detail: RegExp) {
  const statuses = [status].flat()
  assert.ok(statuses.includes(res.statusCode), `expected ${statuses.join(' or ')}, got ${res.statusCode}: ${res.body}`)
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/)
  const body = res.json()
  assert.equal(body.status, res.statusCode)
  assert.match(body.detail, detail)
  return body
}

interface Streamed {
  status?: number
  body: string
  /** Bytes the client had handed to the socket when the answer arrived (-1: none came). */
  writtenAtAnswer: number
  /** Bytes handed to the socket when the connection failed or closed (-1: it never did). */
  writtenAtClose: number
  error?: string
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A raw chunked upload that keeps writing (with backpressure) after an answer, until the
 * connection fails or `total` bytes are sent: a server that drains the rest of a refused
 * body lets it reach `total`, one that cuts the connection does not.
 */
async function streamUpload (url: string, headers: http.OutgoingHttpHeaders, head: Buffer, tail: Buffer, total: number): Promise<Streamed> {
  const req = http.request(url, { method: 'POST', headers })
  const state: Streamed = { body: '', writtenAtAnswer: -1, writtenAtClose: -1 }
  let written = 0
  let answerDone: Promise<void> = Promise.resolve()
  const closed = new Promise<void>((resolve) => {
    const close = (error?: Error) => {
      if (error) state.error ??= error.message
      if (state.writtenAtClose < 0) state.writtenAtClose = written
      resolve()
    }
    req.on('error', close)
    req.on('close', () => close())
  })
  req.on('response', (res) => {
    state.writtenAtAnswer = written
    state.status = res.statusCode
    const chunks: Buffer[] = []
    answerDone = new Promise((resolve) => {
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('close', () => { state.body = Buffer.concat(chunks).toString(); resolve() })
    })
  })
  const send = (chunk: Buffer) => {
    written += chunk.length
    return req.write(chunk)
  }
  send(head)
  const filler = Buffer.alloc(64 * 1024, 0x41)
  while (state.writtenAtClose < 0 && written < total) {
    if (!send(filler)) await Promise.race([once(req, 'drain').catch(() => {}), closed])
    else await new Promise(setImmediate)
  }
  if (state.writtenAtClose < 0) req.end(tail)
  await Promise.race([closed, pause(5000)])
  await answerDone
  req.destroy()
  return state
}

/**
 * How a browser sends a form: the whole body first, and only then does it read the answer. It
 * reads nothing from the socket meanwhile, so a server that closes the connection with
 * unread body bytes sends a reset, which destroys the unread answer along with it.
 */
async function browserLikeUpload (url: string, headers: Record<string, string>, body: Buffer, chunked: boolean): Promise<{ status?: number, body: string, error?: string }> {
  const target = new URL(url)
  const socket = net.connect(Number(target.port), target.hostname)
  socket.pause()
  await once(socket, 'connect')
  const lines = [`POST ${target.pathname} HTTP/1.1`, `Host: ${target.host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${body.length}`]
  let error: string | undefined
  socket.on('error', (e: Error) => { error ??= e.message })
  const write = async (bytes: Buffer) => {
    if (error === undefined && !socket.write(bytes)) await Promise.race([once(socket, 'drain'), once(socket, 'close')])
  }
  await write(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`))
  for (let at = 0; at < body.length && error === undefined; at += 64 * 1024) {
    const piece = body.subarray(at, at + 64 * 1024)
    await write(chunked ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece)
  }
  if (chunked) await write(Buffer.from('0\r\n\r\n'))
  const chunks: Buffer[] = []
  // A whole answer (head and Content-Length bytes of body) ends the wait: the server may keep
  // the connection open for the next request, as it should after draining.
  let complete: () => void = () => {}
  const answered = new Promise<void>((resolve) => { complete = resolve })
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk)
    const text = Buffer.concat(chunks).toString('latin1')
    const headEnd = text.indexOf('\r\n\r\n')
    const length = /\r\ncontent-length: (\d+)/i.exec(text.slice(0, headEnd))?.[1]
    if (headEnd >= 0 && length !== undefined && text.length - headEnd - 4 >= Number(length)) complete()
  })
  socket.resume()
  await Promise.race([answered, once(socket, 'end'), once(socket, 'close'), pause(5000)])
  socket.destroy()
  const text = Buffer.concat(chunks).toString()
  const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]
  return { ...(status ? { status: Number(status) } : {}), body: text.slice(text.indexOf('\r\n\r\n') + 4), ...(error ? { error } : {}) }
}

for (const backend of await backends()) {
  describe(`file intake: multipart upload, download, retention (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    let base: string
    let owner: Actor
    let other: Actor
    let filesRoot: string
    let objectsDir: string
    let stagingDir: string

    const actor = async (role: 'member' | 'viewer' = 'member', tier: 'free' | 'premium' = 'premium'): Promise<Actor> => {
      const user = await t.createUser(role, { tier })
      const session = await t.login(user.email)
      const key = role === 'member' ? await t.apiKey(session, ['files:read', 'files:write']) : ''
      return { user, session, key }
    }

    const upload = (as: Credentials, name: string, bytes: Buffer, field = 'file') => {
      const form = new FormData()
      form.append(field, new Blob([new Uint8Array(bytes)]), name)
      return t.app.inject({ method: 'POST', url: '/api/v1/files', headers: authHeaders(as), payload: form })
    }
    /** For what FormData cannot say: raw bytes in the name, hundreds of parts. */
    const uploadRaw = (as: Credentials, body: { body: Buffer, contentType: string }) =>
      t.app.inject({ method: 'POST', url: '/api/v1/files', headers: { ...authHeaders(as), 'content-type': body.contentType }, payload: body.body })
    const get = (as: Credentials, url: string, headers: Record<string, string> = {}) =>
      t.app.inject({ method: 'GET', url, headers: { ...authHeaders(as), ...headers } })

    const objectPath = (id: string) => path.join(objectsDir, id.slice(0, 2), id)
    const storageDelete = (id: string) => t.app.container.storage.delete(id)
    const objectIds = () => filesUnder(objectsDir).map((file) => path.basename(file)).sort()
    const rowIds = async () => (await t.testDb.db.kysely.selectFrom('files').select('id').execute()).map((r) => r.id).sort()
    const assertStagingEmpty = async () => {
      // The staged file is removed before the answer is sent; a short grace covers slow disks.
      for (let i = 0; i < 20 && filesUnder(stagingDir).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50))
      assert.deepEqual(filesUnder(stagingDir), [], 'nothing may remain in staging/')
    }
    /** Runs `act` and proves it left no row, no object and no staged file behind. */
    const leavesNothing = async <T>(act: () => Promise<T>): Promise<T> => {
      const rowsBefore = await rowIds()
      const objectsBefore = objectIds()
      const result = await act()
      assert.deepEqual(await rowIds(), rowsBefore, 'no row may be added to files')
      assert.deepEqual(objectIds(), objectsBefore, 'nothing may be added to objects/')
      await assertStagingEmpty()
      return result
    }

    before(async () => {
      t = await startApp(backend.name, OVERRIDES)
      await t.app.listen({ port: 0, host: '127.0.0.1' })
      base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
      filesRoot = path.join(t.config.dataDir, 'files')
      objectsDir = path.join(filesRoot, 'objects')
      stagingDir = path.join(filesRoot, 'staging')
      owner = await actor()
      other = await actor()
    })
    after(() => t?.close())

    describe('accepted formats', () => {
      for (const format of GOOD_FORMATS) {
        it(`accepts .${format}: 201 with its facts, stored 0600 under its UUID, staging empty`, async () => {
          const bytes = readFixture(format)
          const res = await upload(owner, `tone.${format}`, bytes)
          assert.equal(res.statusCode, 201, res.body)
          const file = res.json()
          assert.match(file.id, UUID)
          assert.equal(file.name, `tone.${format}`)
          assert.equal(file.format, format)
          assert.equal(file.size, bytes.length)
          assert.equal(file.sha256, sha256Of(bytes))
          assert.ok(Math.abs(file.durationSec - 3) < 0.1, `duration ${file.durationSec}`)
          assert.equal(file.sampleRate, 44100)
          assert.equal(file.channels, 2)
          assert.equal(file.source, 'upload')
          assert.ok(Date.parse(file.expiresAt) > Date.parse(file.createdAt))

          const stored = objectPath(file.id)
          assert.deepEqual(fs.readFileSync(stored), bytes)
          assert.equal(fs.statSync(stored).mode & 0o777, 0o600)
          for (const dir of [filesRoot, objectsDir, path.dirname(stored), stagingDir]) {
            assert.equal(fs.statSync(dir).mode & 0o777, 0o700, `${dir} must be 0700`)
          }
          await assertStagingEmpty()
          const row = await t.testDb.db.kysely.selectFrom('files').selectAll().where('id', '=', file.id).executeTakeFirstOrThrow()
          assert.equal(row.owner_id, owner.user.id)
          assert.equal(row.sha256, file.sha256)
        })
      }

      it('accepts speech (espeak-ng, mono 22.05 kHz) sent over a real socket with fetch and FormData', async () => {
        const bytes = readFixture('speech')
        const form = new FormData()
        form.append('note', 'a small text field is allowed beside the file')
        form.append('file', new Blob([new Uint8Array(bytes)], { type: 'text/plain' }), 'speech.wav')
        const res = await fetch(`${base}/api/v1/files`, { method: 'POST', headers: { 'x-api-key': owner.key }, body: form })
        assert.equal(res.status, 201)
        const file = await res.json() as { sha256: string, sampleRate: number, channels: number, format: string, contentType: string }
        assert.equal(file.sha256, sha256Of(bytes))
        assert.equal(file.format, 'wav')
        // The client's Content-Type (text/plain here) is never trusted.
        assert.equal(file.contentType, 'audio/wav')
        assert.equal(file.sampleRate, 22050)
        assert.equal(file.channels, 1)
      })
    })

    describe('real-world shapes of the allowed formats', () => {
      for (const s of SHAPES) {
        it(`accepts ${s.label} as ${s.name}, with its duration, rate, layout and codec`, async () => {
          const res = await upload(owner, s.name, fs.readFileSync(shape(s.label)))
          assert.equal(res.statusCode, 201, res.body)
          const file = res.json()
          assert.ok(Math.abs(file.durationSec - SHAPE_DURATION_SEC) < 0.1, `duration ${file.durationSec}`)
          assert.equal(file.sampleRate, s.sampleRate)
          assert.equal(file.channels, s.channels)
          assert.equal(file.codec, s.codec)
          await assertStagingEmpty()
        })
      }
    })

    it('accepts an honest WAV whose data follows a 200 KiB LIST chunk', async () => {
      const res = await upload(owner, 'listed.wav', readFixture('bigListWav'))
      assert.equal(res.statusCode, 201, res.body)
      assert.ok(Math.abs(res.json().durationSec - 3) < 0.01, res.body)
    })

    describe('bad input: a clear 4xx and nothing left behind', () => {
      const BAD: { what: string, name: string, fixture: Fixture, status: number | number[], detail: RegExp }[] = [
        { what: 'a name whose extension is not allowed', name: 'tone.exe', fixture: 'wav', status: 415, detail: /not allowed.*\.mp3 \.wav/ },
        { what: 'a text file renamed .mp3', name: 'notes.mp3', fixture: 'text', status: 415, detail: /not MP3/ },
        { what: 'an executable renamed .mp3', name: 'tool.mp3', fixture: 'elf', status: 415, detail: /ELF, not MP3/ },
        { what: 'FLAC bytes named .wav', name: 'tone.wav', fixture: 'flacBytes', status: 415, detail: /FLAC, not WAV/ },
        { what: 'a zero-byte file', name: 'empty.wav', fixture: 'empty', status: 422, detail: /empty/ },
        { what: 'a WAV header without samples', name: 'header.wav', fixture: 'headerOnly', status: 422, detail: /truncated|no playable audio/ },
        { what: 'a truncated WAV', name: 'cut.wav', fixture: 'truncated', status: 422, detail: /truncated|corrupt/ },
        { what: 'a WAV header claiming 10 hours over 4 KB', name: 'bomb.wav', fixture: 'tenHourClaim', status: 422, detail: /36000 s/ },
        { what: 'random bytes after valid MP3 frames', name: 'noise.mp3', fixture: 'mp3Garbage', status: 422, detail: /corrupt|could not be read/ },
        { what: 'a video-only MP4 named .m4a', name: 'clip.m4a', fixture: 'videoOnly', status: [415, 422], detail: /no audio|video/ },
        { what: 'a streamed WAV (MP3 inside) with noise in the middle', name: 'piped.wav', fixture: 'streamedMp3Garbage', status: 422, detail: /corrupt/ },
        { what: 'a streamed WAV (IMA ADPCM) with noise in the middle', name: 'piped.wav', fixture: 'streamedAdpcmGarbage', status: 422, detail: /corrupt/ },
        { what: 'a streamed FLAC (no length stated) longer than the limit', name: 'long.flac', fixture: 'streamedLongFlac', status: 422, detail: /more than 8 s, the limit \(measured by decoding/ },
        { what: 'a forged WAV data size behind a 200 KiB LIST chunk', name: 'listed.wav', fixture: 'bigListForged', status: 422, detail: /forged: its WAV header promises 36000 s/ }
      ]
      for (const bad of BAD) {
        it(`refuses ${bad.what}`, async () => {
          const res = await leavesNothing(() => upload(owner, bad.name, readFixture(bad.fixture)))
          assertProblem(res, bad.status, bad.detail)
        })
      }
    })

    describe('file names', () => {
      const allowedLast = (name: string) => /\.(mp3|wav|flac|aac|ogg|m4a|wma)$/i.test(name)
      const NAMES: { label: string, raw: string, accepted: boolean, stored?: string }[] = [
        { label: 'a ../ path', raw: '../../etc/passwd.mp3', accepted: true },
        { label: 'a ..\\ path', raw: '..\\..\\x.mp3', accepted: true },
        { label: 'a NUL', raw: 'a\u0000b.mp3', accepted: true, stored: 'ab.mp3' },
        { label: '300 characters', raw: `${'a'.repeat(296)}.mp3`, accepted: true },
        { label: '300 two-byte characters', raw: `${'ü'.repeat(296)}.mp3`, accepted: true },
        { label: 'a right-to-left override', raw: 'invoice\u202egpj.mp3', accepted: true, stored: 'invoicegpj.mp3' },
        { label: 'leading dots', raw: '....mp3', accepted: true },
        { label: 'a double extension judged by the last', raw: 'x.php.mp3', accepted: true, stored: 'x.php.mp3' },
        { label: 'an upper-case extension', raw: 'LOUD.MP3', accepted: true, stored: 'LOUD.MP3' },
        { label: 'only dots', raw: '....', accepted: false },
        { label: '..', raw: '..', accepted: false },
        { label: 'a dot-file named .mp3', raw: '.mp3', accepted: false },
        { label: 'an allowed extension in the middle', raw: 'x.mp3.php', accepted: false },
        { label: 'a path whose last part has no extension', raw: 'music.mp3/evil', accepted: false }
      ]
      for (const { label, raw, accepted, stored } of NAMES) {
        it(`${accepted ? 'accepts' : 'refuses'} a name with ${label}: ${JSON.stringify(raw)}`, async () => {
          const body = multipart({ file: { filename: raw, content: readFixture('mp3') } })
          if (!accepted) {
            const res = await leavesNothing(() => uploadRaw(owner, body))
            assertProblem(res, 415, /the name must end in one of/)
            return
          }
          const res = await uploadRaw(owner, body)
          assert.equal(res.statusCode, 201, res.body)
          const file = res.json()
          if (stored) assert.equal(file.name, stored)
          assert.doesNotMatch(file.name, UNSAFE_NAME)
          assert.ok(!file.name.startsWith('.'), `leading dot in ${file.name}`)
          assert.ok(!file.name.includes('..'), `.. in ${file.name}`)
          assert.ok(file.name.length > 0 && Buffer.byteLength(file.name) <= 255, `${Buffer.byteLength(file.name)} bytes`)
          assert.ok(!file.name.includes('\ufffd'), 'cut inside a character')
          assert.equal(file.name, file.name.normalize('NFC'))
          if (allowedLast(raw)) assert.ok(allowedLast(file.name), `extension lost: ${file.name}`)
          // The name is metadata only: on disk there is the UUID and nothing else.
          assert.ok(fs.existsSync(objectPath(file.id)))
          for (const entry of filesUnder(t.config.dataDir)) {
            const relative = path.relative(t.config.dataDir, entry)
            assert.ok(!relative.includes('passwd') && !relative.endsWith('.mp3'), `unexpected file ${relative}`)
          }
          for (const id of objectIds()) assert.match(id, UUID)
        })
      }
    })

    describe('size limits and multipart shape', () => {
      const multipartHead = (boundary: string) =>
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\nContent-Type: audio/wav\r\n\r\n`)

      it('refuses a 20 MB upload over a 1 MB limit with 413', async () => {
        const big = Buffer.alloc(20 * MB, 0x41)
        const res = await leavesNothing(() => upload(owner, 'big.wav', big))
        assertProblem(res, 413, /1 MB limit/)
      })

      it('cuts a streamed (chunked) upload off past the drain bound, long before its end, and removes the partial file', async () => {
        // What the server itself pulls off the socket, beside what the client managed to write
        // (which also counts the kernel's socket buffers).
        let serverRead = 0
        const count = (socket: Socket) => { socket.on('data', (chunk: Buffer) => { serverRead += chunk.length }) }
        t.app.server.on('connection', count)
        const boundary = `b${randomUUID()}`
        // Far past the 1 MB limit plus the 12 MB drain bound: the rest is never read.
        const total = 40 * MB
        const outcome = await leavesNothing(() => streamUpload(`${base}/api/v1/files`, {
          'x-api-key': owner.key,
          'content-type': `multipart/form-data; boundary=${boundary}`
        }, multipartHead(boundary), Buffer.from(`\r\n--${boundary}--\r\n`), total)).finally(() => t.app.server.off('connection', count))
        if (outcome.status !== undefined) {
          assert.equal(outcome.status, 413, outcome.body)
          assert.match(JSON.parse(outcome.body).detail, /1 MB limit/)
        } else {
          // The server may reset the connection before the client has read the answer.
          assert.match(String(outcome.error), /ECONNRESET|EPIPE|socket hang up/)
        }
        const mb = (n: number) => `${(n / MB).toFixed(1)} MB`
        const numbers = `client wrote ${mb(outcome.writtenAtAnswer)} by the answer, ${mb(outcome.writtenAtClose)} by the close; server read ${mb(serverRead)}`
        assert.ok(outcome.writtenAtAnswer < total * 0.75, numbers)
        // After the answer the server stops reading: the connection ends and the rest is never sent.
        assert.ok(outcome.writtenAtClose >= 0 && outcome.writtenAtClose < total * 0.9, numbers)
        assert.ok(serverRead < total / 2, numbers)
      })

      it('answers a declared Content-Length past the drain bound with 413 before reading the body', async () => {
        const boundary = `b${randomUUID()}`
        const started = Date.now()
        const req = http.request(`${base}/api/v1/files`, {
          method: 'POST',
          headers: { 'x-api-key': owner.key, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(20 * MB) }
        })
        req.on('error', () => {})
        req.write(multipartHead(boundary))
        const [res] = await once(req, 'response') as [http.IncomingMessage]
        const chunks: Buffer[] = []
        for await (const chunk of res) chunks.push(chunk as Buffer)
        req.destroy()
        assert.equal(res.statusCode, 413)
        assert.match(JSON.parse(Buffer.concat(chunks).toString()).detail, /1 MB limit/)
        assert.ok(Date.now() - started < 2000, 'the refusal must not wait for the body')
        await assertStagingEmpty()
      })

      // A browser (or Node's fetch) reads no answer before its body is sent: a server that
      // closes mid-body gives it a network error instead of the 413 to show.
      const overLimitForm = (mb = 3) => {
        const form = new FormData()
        form.append('file', new Blob([new Uint8Array(mb * MB)]), 'big.wav')
        return form
      }

      it('answers fetch with a readable 413 for a 3 MB body with a declared length, every time', async () => {
        for (let i = 0; i < 5; i++) {
          const res = await fetch(`${base}/api/v1/files`, { method: 'POST', headers: { 'x-api-key': owner.key }, body: overLimitForm() })
          assert.equal(res.status, 413)
          assert.match(((await res.json()) as { detail: string }).detail, /exceeds the 1 MB limit/)
        }
        await assertStagingEmpty()
      })

      it('answers fetch with a readable 413 for a 3 MB streamed body (no length), every time', async () => {
        for (let i = 0; i < 5; i++) {
          const encoded = new Response(overLimitForm())
          const res = await fetch(`${base}/api/v1/files`, {
            method: 'POST',
            headers: { 'x-api-key': owner.key, 'content-type': String(encoded.headers.get('content-type')) },
            body: encoded.body,
            duplex: 'half'
          } as RequestInit)
          assert.equal(res.status, 413)
          assert.match(((await res.json()) as { detail: string }).detail, /exceeds the 1 MB limit/)
        }
        await assertStagingEmpty()
      })

      for (const chunked of [false, true]) {
        it(`answers a browser-like client (body first, answer after) with a readable 413 (${chunked ? 'chunked' : 'declared length'}), every time`, async () => {
          for (let i = 0; i < 5; i++) {
            // 8 MB: loopback buffers absorb a few MB that the server never reads.
            const encoded = new Response(overLimitForm(8))
            const body = Buffer.from(await encoded.arrayBuffer())
            const res = await browserLikeUpload(`${base}/api/v1/files`, { 'x-api-key': owner.key, 'content-type': String(encoded.headers.get('content-type')) }, body, chunked)
            assert.equal(res.status, 413, `attempt ${i}: ${res.error ?? res.body}`)
            assert.match(res.body, /exceeds the 1 MB limit/)
          }
          await assertStagingEmpty()
        })
      }

      it('refuses two files in one request with 400', async () => {
        const form = new FormData()
        form.append('file', new Blob([new Uint8Array(readFixture('ogg'))]), 'one.ogg')
        form.append('file', new Blob([new Uint8Array(readFixture('ogg'))]), 'two.ogg')
        const res = await leavesNothing(() => t.app.inject({ method: 'POST', url: '/api/v1/files', headers: authHeaders(owner), payload: form }))
        assertProblem(res, 400, /one file per request/)
      })

      it('refuses 1,000 multipart parts with 413', async () => {
        const parts: [string, string | { filename: string, content: Buffer }][] = []
        for (let i = 0; i < 999; i++) parts.push([`field${i}`, 'x'])
        parts.push(['file', { filename: 'tone.ogg', content: readFixture('ogg') }])
        const res = await leavesNothing(() => uploadRaw(owner, multipart(parts)))
        assertProblem(res, 413, /Too many parts/)
      })

      it('refuses a file sent under another field name with 422', async () => {
        const res = await leavesNothing(() => upload(owner, 'tone.ogg', readFixture('ogg'), 'upload'))
        assertProblem(res, 422, /field "file"/)
      })

      it('refuses a form without a file with 422', async () => {
        const form = new FormData()
        form.append('name', 'tone.ogg')
        const res = await leavesNothing(() => t.app.inject({ method: 'POST', url: '/api/v1/files', headers: authHeaders(owner), payload: form }))
        assertProblem(res, 422, /No file/)
      })

      it('refuses a JSON body on the upload route with 415', async () => {
        const res = await leavesNothing(() => t.app.inject({ method: 'POST', url: '/api/v1/files', headers: authHeaders(owner), payload: { file: 'x' } }))
        assertProblem(res, 415, /multipart\/form-data/)
      })

      it('refuses multipart/form-data on a JSON route with 415', async () => {
        const form = new FormData()
        form.append('email', owner.user.email)
        form.append('password', 'whatever it is')
        const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: form })
        assertProblem(res, 415, /Content-Type/)
      })
    })

    describe('quota', () => {
      it('refuses the upload that would pass the free-tier quota with 413 and the remaining bytes', async () => {
        const free = await actor('member', 'free')
        const bytes = readFixture('wav')
        const quota = 1 * MB
        let used = 0
        let res = await upload(free, 'q.wav', bytes)
        for (let i = 0; i < 10 && res.statusCode === 201; i++) {
          used += bytes.length
          res = await upload(free, 'q.wav', bytes)
        }
        assert.ok(used > 0 && used + bytes.length > quota, `uploaded ${used} bytes before the refusal`)
        const body = assertProblem(res, 413, /quota/)
        assert.equal(body.remainingBytes, quota - used)
        const rows = await t.testDb.db.kysely.selectFrom('files').select('size').where('owner_id', '=', free.user.id).execute()
        assert.equal(rows.reduce((sum, r) => sum + Number(r.size), 0), used, 'the refused upload left no row')
        await assertStagingEmpty()
        // Another user's quota is untouched.
        assert.equal((await upload(other, 'q.wav', bytes)).statusCode, 201)
      })
    })

    describe('download', () => {
      let file: { id: string, size: number }
      let bytes: Buffer
      const name = 'Ständchen – Größe.mp3'

      before(async () => {
        bytes = readFixture('mp3')
        const res = await upload(owner, name, bytes)
        assert.equal(res.statusCode, 201, res.body)
        file = res.json()
      })

      it('returns the exact bytes with the audio type, attachment disposition and private caching', async () => {
        const res = await get(owner, `/api/v1/files/${file.id}/content`)
        assert.equal(res.statusCode, 200)
        assert.deepEqual(res.rawPayload, bytes)
        assert.equal(res.headers['content-type'], 'audio/mpeg')
        assert.equal(Number(res.headers['content-length']), bytes.length)
        const disposition = String(res.headers['content-disposition'])
        assert.match(disposition, /^attachment;/)
        assert.ok(disposition.includes(`filename*=UTF-8''${encodeURIComponent(name)}`), disposition)
        assert.equal(res.headers['x-content-type-options'], 'nosniff')
        assert.equal(res.headers['cache-control'], 'private')
        assert.equal(res.headers['accept-ranges'], 'bytes')
      })

      it('serves Range requests: the first 100 bytes, the last 10, and 416 beyond the end', async () => {
        const first = await get(owner, `/api/v1/files/${file.id}/content`, { range: 'bytes=0-99' })
        assert.equal(first.statusCode, 206)
        assert.equal(first.rawPayload.length, 100)
        assert.deepEqual(first.rawPayload, bytes.subarray(0, 100))
        assert.equal(first.headers['content-range'], `bytes 0-99/${bytes.length}`)

        const last = await get(owner, `/api/v1/files/${file.id}/content`, { range: 'bytes=-10' })
        assert.equal(last.statusCode, 206)
        assert.deepEqual(last.rawPayload, bytes.subarray(bytes.length - 10))
        assert.equal(last.headers['content-range'], `bytes ${bytes.length - 10}-${bytes.length - 1}/${bytes.length}`)

        const beyond = await get(owner, `/api/v1/files/${file.id}/content`, { range: `bytes=${bytes.length}-${bytes.length + 100}` })
        assertProblem(beyond, 416, /outside the file/)
        assert.equal(beyond.headers['content-range'], `bytes */${bytes.length}`)
      })
    })

    describe('list, read, delete and who may', () => {
      it('lists with cursor pagination, newest first', async () => {
        const lister = await actor()
        const uploaded: string[] = []
        for (let i = 0; i < 5; i++) {
          const res = await upload(lister, `page-${i}.ogg`, readFixture('ogg'))
          assert.equal(res.statusCode, 201, res.body)
          uploaded.push(res.json().id)
        }
        const seen: { id: string, createdAt: string }[] = []
        const pageSizes: number[] = []
        let cursor: string | null = null
        do {
          const res = await get(lister, `/api/v1/files?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
          assert.equal(res.statusCode, 200, res.body)
          const page = res.json() as { items: { id: string, createdAt: string }[], nextCursor: string | null }
          pageSizes.push(page.items.length)
          seen.push(...page.items)
          cursor = page.nextCursor
        } while (cursor && pageSizes.length < 10)
        assert.deepEqual(pageSizes, [2, 2, 1])
        assert.deepEqual(seen.map((f) => f.id).sort(), [...uploaded].sort())
        for (let i = 1; i < seen.length; i++) assert.ok(seen[i - 1]!.createdAt >= seen[i]!.createdAt, 'newest first')
      })

      it('reads one file, deletes it (204) and removes its bytes', async () => {
        const created = (await upload(owner, 'gone.ogg', readFixture('ogg'))).json()
        const one = await get(owner, `/api/v1/files/${created.id}`)
        assert.equal(one.statusCode, 200)
        assert.deepEqual(one.json(), created)
        assert.ok(fs.existsSync(objectPath(created.id)))

        const del = await t.app.inject({ method: 'DELETE', url: `/api/v1/files/${created.id}`, headers: authHeaders(owner) })
        assert.equal(del.statusCode, 204)
        assert.ok(!fs.existsSync(objectPath(created.id)), 'the object must be gone from disk')
        assert.equal((await get(owner, `/api/v1/files/${created.id}`)).statusCode, 404)
        assert.equal((await get(owner, `/api/v1/files/${created.id}/content`)).statusCode, 404)
        assert.ok(!(await rowIds()).includes(created.id))
      })

      it("answers 404 to another user's GET, content and DELETE, and leaves the file alone", async () => {
        const mine = (await upload(owner, 'mine.ogg', readFixture('ogg'))).json()
        for (const url of [`/api/v1/files/${mine.id}`, `/api/v1/files/${mine.id}/content`]) {
          assertProblem(await get(other, url), 404, /not found/)
        }
        const del = await t.app.inject({ method: 'DELETE', url: `/api/v1/files/${mine.id}`, headers: authHeaders(other) })
        assertProblem(del, 404, /not found/)
        assert.ok(fs.existsSync(objectPath(mine.id)))
        const list = (await get(other, '/api/v1/files')).json() as { items: { id: string }[] }
        assert.ok(!list.items.some((f) => f.id === mine.id))
        assert.equal((await get(owner, `/api/v1/files/${mine.id}`)).statusCode, 200)
      })

      it('lets a viewer list but not upload (403)', async () => {
        const viewer = await actor('viewer')
        assert.equal((await get({ session: viewer.session }, '/api/v1/files')).statusCode, 200)
        const res = await leavesNothing(() => upload({ session: viewer.session }, 'v.ogg', readFixture('ogg')))
        assertProblem(res, 403, /files:write/)
      })

      it('refuses an upload with an API key that has only files:read (403)', async () => {
        const reader = await actor()
        const readOnly = await t.apiKey(reader.session, ['files:read'])
        assert.equal((await get({ key: readOnly }, '/api/v1/files')).statusCode, 200)
        const res = await leavesNothing(() => upload({ key: readOnly }, 'r.ogg', readFixture('ogg')))
        assertProblem(res, 403, /files:write/)
      })

      it('refuses an anonymous upload with 401', async () => {
        const form = new FormData()
        form.append('file', new Blob([new Uint8Array(readFixture('ogg'))]), 'anon.ogg')
        const res = await leavesNothing(() => t.app.inject({ method: 'POST', url: '/api/v1/files', payload: form }))
        assertProblem(res, 401, /Authentication required/)
      })
    })

    // Last: the sweep deletes every file that has expired by the date it is given.
    describe('retention', () => {
      it('deletes an expired file with its bytes and audits it; keeps one that has not expired', async () => {
        const expiring = (await upload(owner, 'old.ogg', readFixture('ogg'))).json()
        const keeper = (await upload(owner, 'keep.ogg', readFixture('ogg'))).json()
        const later = new Date(Date.parse(expiring.expiresAt) + 60_000)
        await t.testDb.db.kysely.updateTable('files').set({ expires_at: new Date(later.getTime() + 86_400_000) }).where('id', '=', keeper.id).execute()

        const report = await t.app.container.retention.sweep(later)
        assert.ok(report.expiredFiles >= 1)
        const rows = await rowIds()
        assert.ok(!rows.includes(expiring.id), 'the expired row is deleted')
        assert.ok(!fs.existsSync(objectPath(expiring.id)), 'the expired object is deleted')
        assert.deepEqual(rows, [keeper.id], 'every file but the one expiring later is past its date')
        assert.ok(fs.existsSync(objectPath(keeper.id)))

        const audits = await t.testDb.db.kysely.selectFrom('audit_log').selectAll().where('action', '=', 'file.expired').execute()
        const details = audits.map((a) => (typeof a.detail === 'string' ? JSON.parse(a.detail) : a.detail) as { fileId: string, ownerId: string })
        const entry = details.find((d) => d.fileId === expiring.id)
        assert.ok(entry, 'a file.expired audit row names the file')
        assert.equal(entry.ownerId, owner.user.id)
        assert.equal(audits.length, report.expiredFiles)
      })

      it('treats an expired file as gone before the sweep: 404 on GET and content, not listed, no job on it', async () => {
        const created = (await upload(owner, 'stale.ogg', readFixture('ogg'))).json()
        await t.testDb.db.kysely.updateTable('files').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', created.id).execute()
        for (const url of [`/api/v1/files/${created.id}`, `/api/v1/files/${created.id}/content`]) assertProblem(await get(owner, url), 404, /not found/)
        const list = (await get(owner, '/api/v1/files?limit=100')).json() as { items: { id: string }[] }
        assert.ok(!list.items.some((f) => f.id === created.id), 'an expired file is not listed')
        const job = await t.app.inject({ method: 'POST', url: '/api/v1/jobs', headers: authHeaders({ session: owner.session }), payload: { type: 'analyze', fileId: created.id } })
        assertProblem(job, 404, /File was not found/)
        // The repository refuses it too, inside the insert's transaction.
        const direct = await t.app.container.repos.jobs.insertWithinLimit({ id: randomUUID(), ownerId: owner.user.id, type: 'analyze', fileId: created.id, params: {} }, 100)
        assert.deepEqual(direct, { fileGone: true })
        assert.ok(fs.existsSync(objectPath(created.id)), 'the bytes wait for the sweep')
      })

      it("keeps a file that a job was created on between the sweep's select and its delete", async () => {
        const created = (await upload(owner, 'raced.ogg', readFixture('ogg'))).json()
        const later = new Date(Date.parse(created.expiresAt) + 60_000)
        const { files, jobs } = t.app.container.repos
        assert.ok((await files.expired(later, 1000)).some((f) => f.id === created.id), 'the sweep lists it')
        const jobId = randomUUID()
        const inserted = await jobs.insertWithinLimit({ id: jobId, ownerId: owner.user.id, type: 'analyze', fileId: created.id, params: {} }, 100)
        assert.ok('job' in inserted, JSON.stringify(inserted))
        assert.equal(await files.deleteExpired(created.id, later), undefined, 'the delete sees the new job')
        assert.ok(await files.findById(created.id), 'the job is not orphaned: its file row stays')
        assert.ok(fs.existsSync(objectPath(created.id)))
        // Once the job has ended, the next sweep deletes the file.
        await jobs.finish(jobId, { status: 'canceled', expiresAt: later })
        assert.equal((await files.deleteExpired(created.id, later))?.id, created.id)
        await jobs.delete(jobId)
        await storageDelete(created.id)
      })

      it('removes staged files left by a crashed upload, and keeps a fresh one', async () => {
        const stale = path.join(stagingDir, `${randomUUID()}.part`)
        const fresh = path.join(stagingDir, `${randomUUID()}.part`)
        // Not a name storage gives out: the sweeper leaves it alone and must not fail on it.
        const foreign = path.join(stagingDir, 'notes.txt')
        fs.writeFileSync(stale, 'left by a crashed upload', { mode: 0o600 })
        fs.writeFileSync(fresh, 'an upload in progress', { mode: 0o600 })
        fs.writeFileSync(foreign, 'put here by hand', { mode: 0o600 })
        const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000)
        fs.utimesSync(stale, twoHoursAgo, twoHoursAgo)
        fs.utimesSync(foreign, twoHoursAgo, twoHoursAgo)

        const report = await t.app.container.retention.sweep()
        assert.equal(report.staleStaged, 1)
        assert.ok(!fs.existsSync(stale), 'the stale staged file is removed')
        assert.ok(fs.existsSync(fresh), 'a fresh staged file belongs to a live upload')
        assert.ok(fs.existsSync(foreign))
        fs.rmSync(fresh)
        fs.rmSync(foreign)
      })
    })
  })
}
