// Shared by bench/fuzz/run.ts and test/fuzz.test.ts: valid fixtures in every allowed format,
// uploads over real HTTP (multipart and tus), and the judgement of each answer.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { AUDIO_FORMATS } from '../../src/media/formats.ts'

export interface FuzzFixture {
  label: string
  /** The name it is uploaded under: its extension is the allowed format it claims. */
  name: string
  bytes: Buffer
}

// One second of a two-tone stereo signal in each shape people upload; every allowed format
// (src/media/formats.ts) has at least one, checked by fixtureFormats below.
const SPECS: readonly [label: string, name: string, args: readonly string[]][] = [
  ['wav pcm16', 'a.wav', ['-c:a', 'pcm_s16le']],
  ['wav float32', 'a.wav', ['-c:a', 'pcm_f32le']],
  ['wav ima-adpcm', 'a.wav', ['-c:a', 'adpcm_ima_wav']],
  ['flac', 'a.flac', ['-c:a', 'flac']],
  ['mp3', 'a.mp3', ['-c:a', 'libmp3lame', '-b:a', '96k', '-metadata', 'title=fuzz']],
  ['aac adts', 'a.aac', ['-c:a', 'aac', '-b:a', '96k', '-f', 'adts']],
  ['ogg vorbis', 'a.ogg', ['-c:a', 'libvorbis']],
  ['ogg opus', 'a.ogg', ['-c:a', 'libopus', '-f', 'ogg']],
  ['ogg flac', 'a.ogg', ['-c:a', 'flac', '-f', 'ogg']],
  ['m4a aac', 'a.m4a', ['-c:a', 'aac', '-b:a', '96k']],
  ['m4a alac', 'a.m4a', ['-c:a', 'alac']],
  ['wma', 'a.wma', ['-c:a', 'wmav2']]
]

/** Generates the fixtures with ffmpeg into `dir` (made if missing) and reads them. */
export function makeFixtures (dir: string, seconds = 1): FuzzFixture[] {
  fs.mkdirSync(dir, { recursive: true })
  return SPECS.map(([label, name, args], index) => {
    const out = path.join(dir, `${index}-${name}`)
    execFileSync('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${seconds}`,
      '-f', 'lavfi', '-i', `sine=frequency=660:sample_rate=44100:duration=${seconds}`, '-filter_complex', 'amerge=inputs=2', ...args, out], { stdio: ['ignore', 'ignore', 'pipe'] })
    return { label, name, bytes: fs.readFileSync(out) }
  })
}

/** The allowed formats the fixtures cover (the bench refuses to run if one is missing). */
export const fixtureFormats = (): string[] => [...new Set(SPECS.map(([, name]) => path.extname(name).slice(1)))].sort()
export const allowedFormats = (): string[] => [...AUDIO_FORMATS].sort()

export interface Answer {
  status: number
  contentType: string
  body: string
  /** The stored file's id when the upload was accepted. */
  fileId?: string
  ms: number
}

export type Verdict =
  | { outcome: 'accepted', fileId: string }
  | { outcome: 'refused', group: string }
  | { outcome: 'defect', reason: string }

/**
 * Pure: what one answer to an upload means. Accepted: a 2xx with the file id (multipart's 201,
 * the final tus PATCH's 200 with Tympan-File-Id). Refused: a 4xx problem document with a title and a detail. Anything else (a 5xx,
 * a 4xx without a clear problem, a connection error) is a defect of intake.
 */
export function judge (answer: Answer): Verdict {
  if (answer.status >= 200 && answer.status < 300 && answer.fileId) return { outcome: 'accepted', fileId: answer.fileId }
  if (answer.status < 400 || answer.status >= 500) return { outcome: 'defect', reason: `${answer.status} ${answer.body.slice(0, 300)}` }
  if (!answer.contentType.startsWith('application/problem+json')) return { outcome: 'defect', reason: `${answer.status} not a problem document (${answer.contentType})` }
  let problem: { status?: unknown, title?: unknown, detail?: unknown }
  try {
    problem = JSON.parse(answer.body) as typeof problem
  } catch {
    return { outcome: 'defect', reason: `${answer.status} problem body is not JSON` }
  }
  if (problem.status !== answer.status) return { outcome: 'defect', reason: `${answer.status} problem says status ${String(problem.status)}` }
  if (typeof problem.title !== 'string' || problem.title === '' || typeof problem.detail !== 'string' || problem.detail === '') {
    return { outcome: 'defect', reason: `${answer.status} problem without a title and a detail` }
  }
  return { outcome: 'refused', group: `${answer.status} ${groupOf(problem.detail)}` }
}

/** Pure: a refusal's detail with its numbers and quoted parts blanked, so that alike refusals group. */
export function groupOf (detail: string): string {
  return detail.replace(/\b\d+(?:\.\d+)?\b/g, 'N').replace(/"[^"]*"/g, '"…"').slice(0, 110)
}

async function answerOf (res: Response, started: number, fileId?: string): Promise<Answer> {
  const body = await res.text()
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body, ms: performance.now() - started, ...(fileId ? { fileId } : {}) }
}

/** POST /api/v1/files as multipart/form-data. */
export async function uploadMultipart (base: string, key: string, name: string, bytes: Buffer): Promise<Answer> {
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(bytes)]), name)
  const started = performance.now()
  const res = await fetch(`${base}/api/v1/files`, { method: 'POST', headers: { 'x-api-key': key }, body: form })
  const answer = await answerOf(res, started)
  if (res.status === 201) answer.fileId = (JSON.parse(answer.body) as { id: string }).id
  return answer
}

/** A tus 1.0 upload in one PATCH: the creating POST's refusal, or the PATCH's answer. */
export async function uploadTus (base: string, key: string, name: string, bytes: Buffer): Promise<Answer> {
  const started = performance.now()
  const tus = { 'x-api-key': key, 'tus-resumable': '1.0.0' }
  const created = await fetch(`${base}/api/v1/uploads`, {
    method: 'POST',
    headers: { ...tus, 'upload-length': String(bytes.length), 'upload-metadata': `filename ${Buffer.from(name).toString('base64')}` }
  })
  const location = created.headers.get('location')
  if (created.status !== 201 || !location) return answerOf(created, started)
  await created.arrayBuffer()
  const patched = await fetch(new URL(location, `${base}/api/v1/uploads/`), {
    method: 'PATCH',
    headers: { ...tus, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
    body: new Uint8Array(bytes)
  })
  return answerOf(patched, started, patched.headers.get('tympan-file-id') ?? undefined)
}

/** Creates an API key with every scope for the admin from its email and password. */
export async function adminKey (base: string, email: string, password: string): Promise<string> {
  const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password, tokens: true }) })
  if (!login.ok) throw new Error(`login failed: ${login.status} ${await login.text()}`)
  const { accessToken } = await login.json() as { accessToken: string }
  const res = await fetch(`${base}/api/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'fuzz', scopes: ['files:read', 'files:write', 'jobs:read', 'jobs:write'] })
  })
  if (res.status !== 201) throw new Error(`key creation failed: ${res.status} ${await res.text()}`)
  return (await res.json() as { key: string }).key
}

export interface JobAnswer { status: string, error: string | null }

export async function submitAnalyze (base: string, key: string, fileId: string): Promise<{ status: number, id?: string, body: string }> {
  const res = await fetch(`${base}/api/v1/jobs`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'analyze', fileId }) })
  const body = await res.text()
  return { status: res.status, body, ...(res.status === 202 ? { id: (JSON.parse(body) as { id: string }).id } : {}) }
}

export async function jobState (base: string, key: string, id: string): Promise<JobAnswer> {
  const res = await fetch(`${base}/api/v1/jobs/${id}`, { headers: { 'x-api-key': key } })
  if (res.status !== 200) throw new Error(`job ${id}: ${res.status} ${await res.text()}`)
  return await res.json() as JobAnswer
}

/** Pure: a finished job's verdict; undefined while it is still queued or running. */
export function jobVerdict (job: JobAnswer): 'succeeded' | 'failed cleanly' | 'defect' | undefined {
  if (job.status === 'queued' || job.status === 'running') return undefined
  if (job.status === 'succeeded') return 'succeeded'
  if (job.status === 'failed' && typeof job.error === 'string' && job.error.trim() !== '') return 'failed cleanly'
  return 'defect'
}
