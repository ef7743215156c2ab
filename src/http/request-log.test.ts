import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { describe, it } from 'node:test'
import Fastify from 'fastify'
import { loggerOptions } from './logger.ts'
import { MAX_LOGGED_URL, redactUrl, requestLogging } from './request-log.ts'

// Generous: on main these shapes blocked the loop for seconds to minutes; a linear pass takes
// well under a millisecond, so only a super-linear pass can come near this on a busy machine.
const BOUND_MS = 200

function timed (url: string): { out: string, ms: number } {
  const start = performance.now()
  const out = redactUrl(url)
  return { out, ms: performance.now() - start }
}

describe('redactUrl', () => {
  it('replaces the value of every credential-named parameter, whatever its case or encoding', () => {
    assert.equal(
      redactUrl('/api/v1/me?x=1&api_key=s1&Access_Token=s2&api%5Fkey=s3&X-Amz-Signature=s4&sessionid=s5&new+password=s6&page=2'),
      '/api/v1/me?x=1&api_key=[REDACTED]&Access_Token=[REDACTED]&api%5Fkey=[REDACTED]&X-Amz-Signature=[REDACTED]&sessionid=[REDACTED]&new+password=[REDACTED]&page=2'
    )
  })

  it('keeps other parameters, valueless names and malformed escapes as they are', () => {
    assert.equal(redactUrl('/api/v1/files?limit=10&cursor=abc'), '/api/v1/files?limit=10&cursor=abc')
    assert.equal(redactUrl('/x?token&a=%E0%A4%A'), '/x?token&a=%E0%A4%A')
    assert.equal(redactUrl('/x?%E0%A4%Atoken=v'), '/x?%E0%A4%Atoken=[REDACTED]')
    assert.equal(redactUrl('/plain/path'), '/plain/path')
  })

  it('cuts the URL at MAX_LOGGED_URL characters and says so', () => {
    const out = redactUrl(`/x?a=${'b'.repeat(10_000)}`)
    assert.ok(out.startsWith(`/x?a=${'b'.repeat(MAX_LOGGED_URL - 5)}…[cut, 10005 characters]`), out.slice(MAX_LOGGED_URL - 10))
    assert.ok(out.length < MAX_LOGGED_URL + 40)
  })

  it('stays within the cap when redaction lengthens the URL', () => {
    const out = redactUrl(`/x?${'&key=1'.repeat(300)}`)
    assert.ok(out.length < MAX_LOGGED_URL + 40, String(out.length))
    assert.ok(!out.includes('key=1'))
  })

  it('handles 16 KB of repeated "?key" in linear time', () => {
    const { out, ms } = timed(`/api/v1/me${'?key'.repeat(4096)}`)
    assert.ok(ms < BOUND_MS, `took ${ms.toFixed(1)} ms`)
    assert.ok(out.startsWith('/api/v1/me?key?key'))
    assert.ok(out.endsWith('…[cut, 16394 characters]'))
  })

  it('handles a 16 KB query of plain "a"s in linear time', () => {
    const { out, ms } = timed(`/api/v1/me?${'a'.repeat(16_384)}`)
    assert.ok(ms < BOUND_MS, `took ${ms.toFixed(1)} ms`)
    assert.equal(out, `/api/v1/me?${'a'.repeat(MAX_LOGGED_URL - 11)}…[cut, 16395 characters]`)
  })

  it('redacts a credential that sits after 16 KB of separators', () => {
    const { out, ms } = timed(`/x?${'&'.repeat(1000)}token=secret-value${'?'.repeat(15_000)}`)
    assert.ok(ms < BOUND_MS, `took ${ms.toFixed(1)} ms`)
    assert.ok(!out.includes('secret-value'))
    assert.ok(out.includes('token=[REDACTED]'))
  })
})

describe('request logging', () => {
  async function appWithLog () {
    const lines: string[] = []
    const stream = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(...chunk.toString().split('\n').filter(Boolean)); done() } })
    const app = Fastify({ logger: { ...(loggerOptions({ logLevel: 'info' } as Parameters<typeof loggerOptions>[0]) as object), stream }, ...requestLogging() })
    app.get('/plain', async () => ({ ok: true }))
    app.get('/logs', async (request) => {
      request.log.warn({ token: 'secret-token-value', detail: 'kept' }, 'application line')
      return { ok: true }
    })
    await app.ready()
    return { app, lines: async () => { await new Promise((resolve) => setImmediate(resolve)); return lines.splice(0) } }
  }

  it('writes the request line as the redacting request logger would, byte for byte', async () => {
    const { app, lines } = await appWithLog()
    await app.inject({ url: '/plain?key=abc', headers: { 'user-agent': 'agent/1' } })
    const [line, ...rest] = await lines()
    assert.equal(rest.length, 0)
    const written = JSON.parse(line!) as Record<string, unknown>
    assert.equal(typeof written.reqId, 'string')
    assert.equal(written.url, '/plain?key=[REDACTED]')
    const { reqId, level: _level, time: _time, pid: _pid, hostname: _hostname, msg: _msg, ...fields } = written
    app.log.child({ reqId }).info(fields, 'request')
    const [expected] = await lines()
    const withoutTime = (text: string) => text.replace(/"time":\d+/, '"time":0')
    assert.equal(withoutTime(line!), withoutTime(expected!))
    await app.close()
  })

  it('gives request.log the request id and the redaction when the application logs', async () => {
    const { app, lines } = await appWithLog()
    await app.inject({ url: '/logs' })
    const [note, request] = (await lines()).map((text) => JSON.parse(text) as Record<string, unknown>)
    assert.equal(note!.msg, 'application line')
    assert.equal(note!.token, '[REDACTED]')
    assert.equal(note!.detail, 'kept')
    assert.equal(request!.msg, 'request')
    assert.equal(typeof note!.reqId, 'string')
    assert.equal(note!.reqId, request!.reqId)
    await app.close()
  })
})
