import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Backend } from '../src/db/database.ts'
import { startApp, type TestApp } from './helpers/app.ts'
import { fixture } from './helpers/audio.ts'
import { backends } from './helpers/db.ts'
import { createJob, keyHeaders, parseSse, uploadFile, type SseEvent } from './helpers/jobs.ts'

const JOB_SCOPES = ['files:read', 'files:write', 'jobs:read', 'jobs:write']
// The credential re-check beat of these apps (15 s in production).
const BEAT_MS = 300

interface LiveStream {
  status: number
  contentType: string
  retryAfter: string | null
  /** The problem body of a refusal. */
  problem?: { detail: string, per: string, limit: number }
  events: () => SseEvent[]
  ended: Promise<void>
  isEnded: () => boolean
  close: () => void
}

/** One event stream over a real connection, read as it arrives (app.inject waits for the end). */
async function openStream (base: string, jobId: string, headers: Record<string, string>): Promise<LiveStream> {
  const abort = new AbortController()
  const res = await fetch(`${base}/api/v1/jobs/${jobId}/events`, { headers, signal: abort.signal })
  const common = { status: res.status, contentType: res.headers.get('content-type') ?? '', retryAfter: res.headers.get('retry-after'), close: () => { abort.abort() } }
  if (res.status !== 200) {
    const problem = await res.json() as LiveStream['problem']
    return { ...common, ...(problem ? { problem } : {}), events: () => [], ended: Promise.resolve(), isEnded: () => true }
  }
  let text = ''
  let done = false
  const decoder = new TextDecoder()
  const ended = (async () => {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(chunk, { stream: true })
    } catch { /* aborted by close() */ }
    done = true
  })()
  // Only whole blocks: a chunk may end in the middle of an event.
  return { ...common, events: () => parseSse(text.slice(0, text.lastIndexOf('\n\n') + 2)), ended, isEnded: () => done }
}

const within = async <T>(ms: number, what: string, promise: Promise<T>): Promise<T> => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what}: not within ${ms} ms`)) }, ms) })
  try { return await Promise.race([promise, timeout]) } finally { clearTimeout(timer) }
}

async function until (ms: number, what: string, check: () => boolean | Promise<boolean>) {
  const deadline = Date.now() + ms
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function listening (backend: Backend, env: Record<string, string>) {
  const t = await startApp(backend, { WORKER_CONCURRENCY: '0', TRUSTED_PROXIES: '127.0.0.1', ...env }, undefined, { eventStreamBeatMs: BEAT_MS })
  await t.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = t.app.server.address() as { port: number }
  return { t, base: `http://127.0.0.1:${port}` }
}

for (const backend of await backends()) {
  describe(`event streams are bounded (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    let base: string
    const opened: LiveStream[] = []
    const open = async (jobId: string, headers: Record<string, string>) => {
      const stream = await openStream(base, jobId, headers)
      opened.push(stream)
      return stream
    }
    // A member with a key and a session, a queued job (no workers here: it waits), and a
    // client address of their own so that tests do not share an address budget.
    let addressCounter = 0
    const member = async () => {
      const user = await t.createUser('member')
      const session = await t.login(user.email)
      const key = await t.apiKey(session, JOB_SCOPES)
      const job = await createJob(t.app, key, { fileId: await uploadFile(t.app, key, fixture('wav')), type: 'analyze' })
      const ip = `192.0.2.${++addressCounter}`
      return { user, session, key, job, ip, byKey: { ...keyHeaders(key), 'x-forwarded-for': ip }, bySession: { cookie: session.cookie, 'x-forwarded-for': ip } }
    }

    before(async () => {
      ({ t, base } = await listening(backend.name, { EVENT_STREAMS_PER_USER: '3', EVENT_STREAMS_PER_ADDRESS: '4' }))
    })
    after(async () => {
      for (const stream of opened) stream.close()
      await t.close()
    })

    it('refuses a user beyond EVENT_STREAMS_PER_USER with 429 before opening anything, keys and sessions together; slots come back', async () => {
      const m = await member()
      const streams = [await open(m.job.id, m.byKey), await open(m.job.id, m.byKey), await open(m.job.id, m.bySession)]
      assert.deepEqual(streams.map((s) => s.status), [200, 200, 200])
      await until(2000, 'first events', () => streams.every((s) => s.events().length > 0))

      for (const headers of [m.byKey, m.bySession]) {
        const refused = await open(m.job.id, headers)
        assert.equal(refused.status, 429)
        assert.match(refused.contentType, /^application\/problem\+json/)
        assert.match(refused.problem!.detail, /at most 3 per user/)
        assert.equal(refused.problem!.per, 'user')
        assert.ok(Number(refused.retryAfter) >= 1, `Retry-After ${refused.retryAfter}`)
      }

      // Client close: two slots come back, and only two.
      streams[0]!.close()
      streams[1]!.close()
      await until(2000, 'a slot freed by a closed client', async () => (await open(m.job.id, m.byKey)).status === 200)
      assert.equal((await open(m.job.id, m.byKey)).status, 200)
      assert.equal((await open(m.job.id, m.byKey)).status, 429)

      // Job done: a canceled job ends every stream on it with `done`, and frees their slots.
      const canceled = await t.app.inject({ method: 'DELETE', url: `/api/v1/jobs/${m.job.id}`, headers: keyHeaders(m.key) })
      assert.equal(canceled.statusCode, 200)
      const live = opened.filter((s) => s.status === 200 && !s.isEnded())
      await within(2000, 'streams end with the job', Promise.all(live.map((s) => s.ended)))
      for (const s of live) assert.equal(s.events().at(-1)?.event, 'done')
      const next = await createJob(t.app, m.key, { fileId: await uploadFile(t.app, m.key, fixture('wav')), type: 'analyze' })
      const again = [await open(next.id, m.byKey), await open(next.id, m.byKey), await open(next.id, m.byKey)]
      assert.deepEqual(again.map((s) => s.status), [200, 200, 200])
      for (const s of again) s.close()
    })

    it('refuses beyond EVENT_STREAMS_PER_ADDRESS across users, counting IPv6 by /64', async () => {
      const a = await member()
      const b = await member()
      const from = (who: typeof a, ip: string) => ({ ...keyHeaders(who.key), 'x-forwarded-for': ip })
      const mine = [
        await open(a.job.id, from(a, '2001:db8:1:2::a')), await open(a.job.id, from(a, '2001:db8:1:2::a')), await open(a.job.id, from(a, '2001:db8:1:2::a')),
        await open(b.job.id, from(b, '2001:db8:1:2:ffff::b'))
      ]
      assert.deepEqual(mine.map((s) => s.status), [200, 200, 200, 200])
      const refused = await open(b.job.id, from(b, '2001:db8:1:2:1234::b'))
      assert.equal(refused.status, 429)
      assert.match(refused.problem!.detail, /at most 4 per client address/)
      assert.equal(refused.problem!.per, 'address')
      assert.equal((await open(b.job.id, from(b, '2001:db8:1:3::b'))).status, 200, 'another /64 has its own budget')
    })

    const endsWithRevocation = async (stream: LiveStream, revoke: () => Promise<void>) => {
      assert.equal(stream.status, 200)
      await until(2000, 'first event', () => stream.events().length > 0)
      assert.equal(stream.isEnded(), false)
      await revoke()
      // The revocation bus wakes the stream at once; the beat is the fallback.
      await within(BEAT_MS * 4, 'the stream ends', stream.ended)
      assert.deepEqual(stream.events().at(-1), { event: 'error', data: { reason: 'credential_revoked' } })
    }

    it('logout ends the session\'s open stream with an error event', async () => {
      const m = await member()
      await endsWithRevocation(await open(m.job.id, m.bySession), async () => {
        const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie: m.session.cookie, 'x-csrf-token': m.session.csrfToken } })
        assert.equal(res.statusCode, 204)
      })
    })

    it('revoking or rotating a key ends the streams it opened', async () => {
      const m = await member()
      const other = await t.apiKey(m.session, JOB_SCOPES)
      const untouched = await open(m.job.id, { ...keyHeaders(other), 'x-forwarded-for': m.ip })
      await endsWithRevocation(await open(m.job.id, m.byKey), async () => {
        const res = await t.app.inject({ method: 'DELETE', url: `/api/v1/keys/${m.key.split('_')[1]}`, headers: { cookie: m.session.cookie, 'x-csrf-token': m.session.csrfToken } })
        assert.equal(res.statusCode, 204)
      })
      assert.equal(untouched.isEnded(), false, 'a stream of another key goes on')
      await endsWithRevocation(untouched, async () => {
        const res = await t.app.inject({ method: 'POST', url: `/api/v1/keys/${other.split('_')[1]}/rotate`, headers: { cookie: m.session.cookie, 'x-csrf-token': m.session.csrfToken } })
        assert.equal(res.statusCode, 200)
      })
    })

    it('disabling the user ends their open streams', async () => {
      const admin = await t.login((await t.createUser('admin')).email)
      const m = await member()
      const byKey = await open(m.job.id, m.byKey)
      await endsWithRevocation(await open(m.job.id, m.bySession), async () => {
        const res = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/users/${m.user.id}`, headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrfToken }, payload: { disabled: true } })
        assert.equal(res.statusCode, 200)
      })
      await within(BEAT_MS * 4, 'the key\'s stream ends too', byKey.ended)
      assert.equal(byKey.events().at(-1)?.event, 'error')
    })
  })

  describe(`event streams have a maximum life, and resume without loss (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    let base: string
    before(async () => {
      ({ t, base } = await listening(backend.name, { EVENT_STREAM_MAX_SECONDS: '1', EVENT_STREAMS_PER_USER: '1' }))
    })
    after(() => t.close())

    it('ends a stream after EVENT_STREAM_MAX_SECONDS; Last-Event-ID resumes after the last id, nothing lost or repeated', async () => {
      const user = await t.createUser('member')
      const key = await t.apiKey(await t.login(user.email), JOB_SCOPES)
      const job = await createJob(t.app, key, { fileId: await uploadFile(t.app, key, fixture('wav')), type: 'analyze' })
      const { repos, signals } = t.app.container
      // Plays the worker: events arrive during both streams and while none is open.
      const progress = async (value: number) => {
        assert.ok(await repos.jobs.progress(job.id, value, `step ${value}`))
        await signals.changed.publish(job.id)
      }
      assert.ok(await repos.jobs.start(job.id, t.config.jobs.maxRunning))

      const started = Date.now()
      const first = await openStream(base, job.id, keyHeaders(key))
      assert.equal(first.status, 200)
      await progress(0.1)
      await progress(0.2)
      await within(5000, 'the stream ends at its maximum life', first.ended)
      const life = Date.now() - started
      assert.ok(life >= 900, `ended after ${life} ms`)
      assert.ok(!first.events().some((e) => e.event === 'error' || e.event === 'done'), 'a clean end, no error and no done')
      await progress(0.3)

      const lastId = first.events().at(-1)!.id!
      const second = await openStream(base, job.id, { ...keyHeaders(key), 'last-event-id': String(lastId) })
      assert.equal(second.status, 200, 'the ended stream gave its slot back (EVENT_STREAMS_PER_USER=1)')
      await progress(0.4)
      assert.ok(await repos.jobs.finish(job.id, { status: 'succeeded', result: {}, expiresAt: new Date(Date.now() + 3_600_000) }))
      await signals.changed.publish(job.id)
      await within(5000, 'the resumed stream ends with done', second.ended)

      const all = (await repos.jobs.events(job.id, 0)).map((e) => e.id)
      const seen = [...first.events(), ...second.events()].filter((e) => e.id !== undefined).map((e) => e.id)
      assert.deepEqual(seen, all, 'every event once, in order')
      assert.equal(second.events().at(-1)?.event, 'done')
    })
  })
}
