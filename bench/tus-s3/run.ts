// bench/tus-s3: what keeping tus uploads in the bucket (@tus/s3-store, docs/storage.md
// "tus on S3") costs beside tus on local storage, as a ratio within one run.
//   - the same WAV of noise, uploaded with tus in 4 PATCHes over loopback, to an API on local
//     storage (tus's FileStore in the workspace, the object renamed into place) and to an API
//     on S3 storage (s3rver in this process): there every PATCH goes to the bucket in parts,
//     and the completion downloads the object once for the checks and puts it again;
//   - the time of the whole upload (creation to the accepted file) and of the first three
//     PATCHes (the bytes only, no completion), median of the rounds.
// Both include the intake checks (ffprobe, a full decode). s3rver shares the CPU with the API.
// Usage: node bench/tus-s3/run.ts [--mib N] [--rounds N]
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import { PASSWORD, startApp } from '../../test/helpers/app.ts'
import { wavHeader } from '../../test/helpers/audio.ts'
import { startS3 } from '../../test/helpers/services.ts'

const { values } = parseArgs({ options: { mib: { type: 'string', default: '48' }, rounds: { type: 'string', default: '3' } } })
const MB = 1024 * 1024
const PATCHES = 4
const dataBytes = Number(values.mib) * MB
const rounds = Number(values.rounds)
const bytes = Buffer.concat([wavHeader(dataBytes), randomBytes(dataBytes)])

const s3 = await startS3('bench')
// The SDK's default chain reads these; Tympan's config never does.
for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) process.env[name] = s3.env[name]

async function upload (env: Record<string, string>): Promise<{ wholeMs: number, patchesMs: number }> {
  const t = await startApp('pglite', { ...env, WORKER_CONCURRENCY: '0', MAX_FILE_SIZE_MB: '4096' })
  try {
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
    const user = await t.createUser('member', { tier: 'enterprise' })
    const login = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: PASSWORD, tokens: true } })
    const headers = { authorization: `Bearer ${login.json().accessToken}`, 'tus-resumable': '1.0.0' }
    const started = performance.now()
    const created = await fetch(`${base}/api/v1/uploads`, { method: 'POST', headers: { ...headers, 'upload-length': String(bytes.length), 'upload-metadata': `filename ${Buffer.from('bench.wav').toString('base64')}` } })
    if (created.status !== 201) throw new Error(`creation answered ${created.status}: ${await created.text()}`)
    const url = new URL(String(created.headers.get('location')), base)
    const step = Math.ceil(bytes.length / PATCHES)
    let patchesMs = 0
    for (let offset = 0; offset < bytes.length; offset += step) {
      const before = performance.now()
      const res = await fetch(url, { method: 'PATCH', headers: { ...headers, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' }, body: new Uint8Array(bytes.subarray(offset, offset + step)) })
      const body = await res.text()
      const last = offset + step >= bytes.length
      if (res.status !== (last ? 200 : 204)) throw new Error(`PATCH at ${offset} answered ${res.status}: ${body}`)
      if (!last) patchesMs += performance.now() - before
    }
    return { wholeMs: performance.now() - started, patchesMs }
  } finally {
    await t.close()
  }
}

const runs: Record<'local' | 's3', { wholeMs: number, patchesMs: number }[]> = { local: [], s3: [] }
for (let round = 0; round < rounds; round++) {
  runs.local.push(await upload({}))
  runs.s3.push(await upload(s3.env))
}
await s3.close()

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const whole = { local: median(runs.local.map((r) => r.wholeMs)), s3: median(runs.s3.map((r) => r.wholeMs)) }
const patches = { local: median(runs.local.map((r) => r.patchesMs)), s3: median(runs.s3.map((r) => r.patchesMs)) }
console.log(`tus upload of ${(bytes.length / MB).toFixed(1)} MiB in ${PATCHES} PATCHes, median of ${rounds} rounds`)
console.log(`  local storage (FileStore): whole ${whole.local.toFixed(0)} ms, first ${PATCHES - 1} PATCHes ${patches.local.toFixed(0)} ms`)
console.log(`  S3 storage (S3Store):      whole ${whole.s3.toFixed(0)} ms, first ${PATCHES - 1} PATCHes ${patches.s3.toFixed(0)} ms`)
console.log(`  ratio S3 / local: whole ${(whole.s3 / whole.local).toFixed(2)}, PATCHes ${(patches.s3 / patches.local).toFixed(2)}`)
process.exit(0)
