import fs from 'node:fs'
import type { FastifyInstance } from 'fastify'
import type { PublicJob } from '../../src/modules/jobs/jobs.service.ts'

export interface SseEvent {
  id?: number
  event: string
  data: unknown
}

/** Parses a text/event-stream body (the subset Tympan writes: id, event, data, comments). */
export function parseSse (body: string): SseEvent[] {
  const events: SseEvent[] = []
  for (const block of body.split('\n\n')) {
    const fields = new Map<string, string>()
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue
      const colon = line.indexOf(':')
      fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart())
    }
    if (!fields.has('event')) continue
    events.push({
      ...(fields.has('id') ? { id: Number(fields.get('id')) } : {}),
      event: fields.get('event')!,
      data: JSON.parse(fields.get('data') ?? 'null')
    })
  }
  return events
}

export const keyHeaders = (key: string) => ({ 'x-api-key': key })

export async function uploadFile (app: FastifyInstance, key: string, file: string, name = `audio${file.slice(file.lastIndexOf('.'))}`): Promise<string> {
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(fs.readFileSync(file))]), name)
  const res = await app.inject({ method: 'POST', url: '/api/v1/files', headers: keyHeaders(key), payload: form })
  if (res.statusCode !== 201) throw new Error(`upload failed: ${res.statusCode} ${res.body}`)
  return res.json().id
}

export async function createJob (app: FastifyInstance, key: string, body: Record<string, unknown>): Promise<PublicJob> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/jobs', headers: keyHeaders(key), payload: body })
  if (res.statusCode !== 202) throw new Error(`job creation failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

export async function getJob (app: FastifyInstance, key: string, id: string): Promise<PublicJob> {
  const res = await app.inject({ method: 'GET', url: `/api/v1/jobs/${id}`, headers: keyHeaders(key) })
  if (res.statusCode !== 200) throw new Error(`job read failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** Polls until `done(job)` holds; throws with the last state after `timeoutMs`. */
export async function waitForJob (app: FastifyInstance, key: string, id: string, done: (job: PublicJob) => boolean = (j) => !['queued', 'running'].includes(j.status), timeoutMs = 60_000): Promise<PublicJob> {
  const deadline = Date.now() + timeoutMs
  let job = await getJob(app, key, id)
  while (!done(job)) {
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} (${job.stage}) after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
    job = await getJob(app, key, id)
  }
  return job
}
