import fs from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { PublicJob } from '../modules/jobs/jobs.service.ts'
import { CliError } from './runtime.ts'

interface Progress {
  update: (fraction: number, stage: string) => void
  done: () => void
}

// A proxy may cut a long event stream; the CLI reconnects with Last-Event-ID this many times
// in a row (any event received resets the count) before it gives up.
const MAX_RECONNECTS = 5
const RECONNECT_MS = 1000
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

async function failure (response: Response, what: string): Promise<CliError> {
  const body = await response.text()
  let detail = body.slice(0, 500)
  try { detail = (JSON.parse(body) as { detail?: string }).detail ?? detail } catch { /* not JSON */ }
  return new CliError(`${what} failed: ${response.status} ${detail}`)
}

/** Why fetch could not connect, in words (undici hides it in `cause`). */
function networkReason (error: unknown): string {
  const cause = (error as { cause?: { code?: string, message?: string } }).cause
  const reasons: Record<string, string> = {
    ECONNREFUSED: 'connection refused: is the server running, on that port?',
    ENOTFOUND: 'no such host',
    EAI_AGAIN: 'the name does not resolve right now',
    ETIMEDOUT: 'connection timed out',
    ECONNRESET: 'the connection was reset'
  }
  if (cause?.code) return reasons[cause.code] ? `${cause.code}, ${reasons[cause.code]}` : cause.code
  return cause?.message ?? (error as Error).message
}

/** The API key a --server run sends: --key, else TYMPAN_API_KEY. */
export function apiKeyFor (key: string | undefined): string {
  const found = key ?? process.env.TYMPAN_API_KEY
  if (!found) throw new CliError('--server needs an API key: set TYMPAN_API_KEY (or pass --key)')
  return found
}

/** Checks --server before anything is sent; the key must not go out in clear to another machine. */
export function serverUrl (server: string): string {
  let url: URL
  try { url = new URL(server) } catch { throw new CliError(`--server ${server} is not a URL (expected http://host:port or https://host)`) }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`--server must be an http:// or https:// URL, not ${url.protocol}`)
  if (url.username || url.password || url.search || url.hash) throw new CliError('--server takes no credentials, query or fragment: pass the API key with TYMPAN_API_KEY')
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) {
    process.stderr.write(`tympan: warning: ${url.host} is plain http, so the API key travels unencrypted; use https\n`)
  }
  return `${url.origin}${url.pathname.replace(/(?<!\/)\/+$/, '')}`
}

/**
 * Calls a remote Tympan's API: the API key travels in a header, never in a URL, and never
 * appears in a message; a failure is a CliError that says what failed and why.
 */
export function apiCaller (server: string, key: string) {
  const base = serverUrl(server)
  const headers = { 'x-api-key': key }
  return async (url: string, init: RequestInit, what: string): Promise<Response> => {
    const response = await fetch(`${base}${url}`, { ...init, headers: { ...headers, ...(init.headers as Record<string, string> | undefined) } })
      .catch((error: unknown) => {
        if (init.signal?.aborted) throw error
        throw new CliError(`${what} failed: cannot reach ${base} (${networkReason(error)})`)
      })
    if (!response.ok) throw await failure(response, what)
    return response
  }
}

/**
 * The CLI as a client of a remote Tympan: upload, queue, follow the job's event stream for
 * progress, then fetch results. Ctrl-C cancels the job on the server too.
 */
export function remoteJob (server: string, key: string) {
  const call = apiCaller(server, key)

  const finished = (job: PublicJob) => job.status !== 'queued' && job.status !== 'running'

  /** One connection to the event stream: the finished job, or undefined when the stream ended early. */
  async function listen (jobId: string, progress: Progress, cursor: { id: number, fresh: boolean }, signal: AbortSignal): Promise<PublicJob | undefined> {
    const response = await call(`/api/v1/jobs/${jobId}/events`, { signal, headers: cursor.id ? { 'last-event-id': String(cursor.id) } : {} }, 'following the job')
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true })
        let end
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const id = /^id: (\d+)$/m.exec(block)?.[1]
          const event = /^event: (.*)$/m.exec(block)?.[1]
          const data = /^data: (.*)$/m.exec(block)?.[1]
          if (id) { cursor.id = Number(id); cursor.fresh = true }
          if (!event || !data) continue
          const payload = JSON.parse(data) as Record<string, unknown>
          if (event === 'progress') progress.update(Number(payload.progress), String(payload.stage))
          if (event === 'status' && payload.status === 'queued') progress.update(0, String(payload.stage ?? 'queued'))
          if (event === 'done') return payload as unknown as PublicJob
          if (event === 'deleted') throw new CliError(`job ${jobId} was deleted`)
        }
      }
    } catch (error) {
      // A connection cut mid-stream is worth a reconnect; anything else is not.
      if (error instanceof CliError || signal.aborted) throw error
    }
    return undefined
  }

  async function follow (jobId: string, progress: Progress, signal: AbortSignal): Promise<PublicJob> {
    const cursor = { id: 0, fresh: false }
    for (let failures = 0; ; failures++) {
      const done = await listen(jobId, progress, cursor, signal)
      if (done) return done
      // The stream ended without `done` (a proxy cut it): the job may be over, or still running.
      const job = await (await call(`/api/v1/jobs/${jobId}`, { signal }, 'reading the job')).json() as PublicJob
      if (finished(job)) return job
      if (cursor.fresh) { failures = 0; cursor.fresh = false }
      if (failures >= MAX_RECONNECTS) throw new CliError(`following job ${jobId} failed: the event stream keeps closing; the job goes on (GET /api/v1/jobs/${jobId})`)
      await sleep(RECONNECT_MS, undefined, { signal })
    }
  }

  return {
    /** `file` is uploaded first for a job that works on one; a job that makes audio from params has none. */
    async run (type: string, file: string | undefined, params: Record<string, unknown>, progress: Progress): Promise<PublicJob> {
      const abort = new AbortController()
      const stop = () => { abort.abort() }
      process.once('SIGINT', stop)
      let jobId: string | undefined
      let fileId: string | undefined
      let ended = false
      try {
        if (file !== undefined) {
          progress.update(0, 'uploading')
          const form = new FormData()
          form.append('file', await fs.openAsBlob(file), path.basename(file))
          fileId = (await (await call('/api/v1/files', { method: 'POST', body: form, signal: abort.signal }, 'upload')).json() as { id: string }).id
        }
        const created = await (await call('/api/v1/jobs', {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type, ...(fileId ? { fileId } : {}), params }), signal: abort.signal
        }, 'creating the job')).json() as PublicJob
        jobId = created.id
        const job = await follow(created.id, progress, abort.signal)
        ended = true
        if (job.status !== 'succeeded') throw new CliError(`job ${job.id} ${job.status}${job.error ? `: ${job.error}` : ''}`)
        return job
      } catch (error) {
        if (!abort.signal.aborted) throw error
        if (!jobId) throw new CliError('interrupted')
        // DELETE cancels a queued or running job; the worker stops its engine at once.
        const canceled = await call(`/api/v1/jobs/${jobId}`, { method: 'DELETE', signal: AbortSignal.timeout(10_000) }, 'canceling the job').then(() => true, () => false)
        ended = canceled
        throw new CliError(canceled ? `interrupted: job ${jobId} was canceled on the server` : `interrupted: job ${jobId} may still run on the server`)
      } finally {
        process.off('SIGINT', stop)
        progress.done()
        // The upload served this one job: once the job has ended (its results live on without
        // it), the server need not keep the audio until retention removes it.
        if (fileId && (ended || !jobId)) await call(`/api/v1/files/${fileId}`, { method: 'DELETE', signal: AbortSignal.timeout(10_000) }, 'deleting the upload').catch(() => {})
      }
    },
    async artifact (jobId: string, name: string): Promise<Buffer> {
      return Buffer.from(await (await call(`/api/v1/jobs/${jobId}/artifacts/${encodeURIComponent(name)}`, {}, `downloading ${name}`)).arrayBuffer())
    }
  }
}
