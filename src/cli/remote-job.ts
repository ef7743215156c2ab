import fs from 'node:fs'
import path from 'node:path'
import type { PublicJob } from '../modules/jobs/jobs.service.ts'
import { CliError } from './runtime.ts'

interface Progress {
  update: (fraction: number, stage: string) => void
  done: () => void
}

async function failure (response: Response, what: string): Promise<CliError> {
  const body = await response.text()
  let detail = body.slice(0, 500)
  try { detail = (JSON.parse(body) as { detail?: string }).detail ?? detail } catch { /* not JSON */ }
  return new CliError(`${what} failed: ${response.status} ${detail}`)
}

/**
 * The CLI as a client of a remote Tympan: upload, queue, follow the job's event stream for
 * progress, then fetch results. The API key travels in a header, never in a URL.
 */
export function remoteJob (server: string, key: string) {
  const base = server.replace(/\/+$/, '')
  const headers = { 'x-api-key': key }
  const call = async (url: string, init: RequestInit, what: string) => {
    const response = await fetch(`${base}${url}`, { ...init, headers: { ...headers, ...(init.headers as Record<string, string> | undefined) } })
      .catch((error: unknown) => { throw new CliError(`${what} failed: cannot reach ${base} (${(error as Error).message})`) })
    if (!response.ok) throw await failure(response, what)
    return response
  }

  async function follow (jobId: string, progress: Progress): Promise<PublicJob> {
    const response = await call(`/api/v1/jobs/${jobId}/events`, {}, 'following the job')
    const decoder = new TextDecoder()
    let buffer = ''
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true })
      let end
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const event = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (!event || !data) continue
        const payload = JSON.parse(data) as Record<string, unknown>
        if (event === 'progress') progress.update(Number(payload.progress), String(payload.stage))
        if (event === 'status' && payload.status === 'queued') progress.update(0, String(payload.stage ?? 'queued'))
        if (event === 'done') return payload as unknown as PublicJob
        if (event === 'deleted') throw new CliError(`job ${jobId} was deleted`)
      }
    }
    // The stream ended without `done` (a proxy cut it): read the job instead.
    return (await call(`/api/v1/jobs/${jobId}`, {}, 'reading the job')).json() as Promise<PublicJob>
  }

  return {
    async run (type: string, file: string, params: Record<string, unknown>, progress: Progress): Promise<PublicJob> {
      progress.update(0, 'uploading')
      const form = new FormData()
      form.append('file', await fs.openAsBlob(file), path.basename(file))
      const uploaded = await (await call('/api/v1/files', { method: 'POST', body: form }, 'upload')).json() as { id: string }
      const created = await (await call('/api/v1/jobs', {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type, fileId: uploaded.id, params })
      }, 'creating the job')).json() as PublicJob
      try {
        const job = await follow(created.id, progress)
        if (job.status !== 'succeeded') throw new CliError(`job ${job.id} ${job.status}${job.error ? `: ${job.error}` : ''}`)
        return job
      } finally {
        progress.done()
      }
    },
    async artifact (jobId: string, name: string): Promise<Buffer> {
      return Buffer.from(await (await call(`/api/v1/jobs/${jobId}/artifacts/${encodeURIComponent(name)}`, {}, `downloading ${name}`)).arrayBuffer())
    }
  }
}
