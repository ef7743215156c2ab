import path from 'node:path'

/**
 * S3 server-side encryption of every object Tympan writes (S3_SSE, S3_SSE_KMS_KEY_ID), in the
 * SDK's own parameter names: SSE-S3 (`AES256`) or SSE-KMS (`aws:kms`, with the bucket's or
 * account's default KMS key unless a key is named).
 */
export interface S3ServerSideEncryption {
  ServerSideEncryption: 'AES256' | 'aws:kms'
  SSEKMSKeyId?: string
}

/** Where objects live: a directory on this machine, or an S3 bucket (with an optional key prefix). */
export type StorageTarget =
  | { driver: 'local', root: string }
  | { driver: 's3', bucket: string, prefix: string, endpoint: string, forcePathStyle: boolean, region: string, serverSideEncryption?: S3ServerSideEncryption }

// S3's bucket naming rules (3–63 lowercase letters, digits, dots and hyphens).
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/
const PREFIX_SEGMENT = /^[A-Za-z0-9._-]{1,255}$/
// A KMS key id, key ARN, alias name or alias ARN: AWS's characters, nothing that could break a header.
const KMS_KEY = /^[A-Za-z0-9:/_+=,.@-]{1,2048}$/

/**
 * Pure: STORAGE_URL read into a target, or the reason it is not one. '' is the local
 * default under the data directory; `file:///abs/dir` a local directory elsewhere;
 * `s3://bucket/prefix` a bucket. The prefix is restricted to plain segments so that no
 * key can climb out of it or look different to another S3 implementation.
 */
export function parseStorageUrl (url: string, dataDir: string, s3: { endpoint: string, forcePathStyle: boolean, region: string }, sse: { mode: string, kmsKeyId: string } = { mode: '', kmsKeyId: '' }): StorageTarget | { problem: string } {
  const encryption = parseServerSideEncryption(sse)
  if (encryption && 'problem' in encryption) return encryption
  if (encryption && !url.startsWith('s3:')) return { problem: 'S3_SSE and S3_SSE_KMS_KEY_ID apply to an S3 bucket (STORAGE_URL=s3://…) only: local storage is not encrypted by them' }
  if (url === '') return { driver: 'local', root: path.join(dataDir, 'files') }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return { problem: 'STORAGE_URL is not a URL: use file:///absolute/dir or s3://bucket/prefix' }
  }
  if (parsed.protocol === 'file:') {
    if (parsed.host !== '' || parsed.search !== '' || parsed.hash !== '') return { problem: 'STORAGE_URL file: must be file:///absolute/dir, without host, query or fragment' }
    return { driver: 'local', root: path.resolve(decodeURIComponent(parsed.pathname)) }
  }
  if (parsed.protocol === 's3:') {
    if (parsed.username || parsed.password) return { problem: 'STORAGE_URL must not hold credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead' }
    if (parsed.port || parsed.search || parsed.hash) return { problem: 'STORAGE_URL s3: is s3://bucket/prefix, without port, query or fragment' }
    if (!BUCKET.test(parsed.hostname)) return { problem: `STORAGE_URL names an invalid bucket ${JSON.stringify(parsed.hostname)} (3-63 lowercase letters, digits, dots, hyphens)` }
    const segments = parsed.pathname.split('/').filter((segment) => segment !== '')
    // Checked on the text as written too: the URL parser resolves `a/../b` (and its escapes) silently.
    const written = url.slice('s3://'.length).split('/')
    if (url.includes('%') || written.some((segment) => segment === '.' || segment === '..') || segments.some((segment) => !PREFIX_SEGMENT.test(segment))) {
      return { problem: 'STORAGE_URL has an invalid key prefix: use segments of letters, digits, dot, underscore and hyphen' }
    }
    if (s3.endpoint !== '') {
      let endpoint: URL | undefined
      try { endpoint = new URL(s3.endpoint) } catch { endpoint = undefined }
      if (!endpoint || (endpoint.protocol !== 'https:' && endpoint.protocol !== 'http:')) return { problem: 'S3_ENDPOINT must be an http(s) URL' }
      if (endpoint.username || endpoint.password) return { problem: 'S3_ENDPOINT must not hold credentials' }
    }
    return { driver: 's3', bucket: parsed.hostname, prefix: segments.join('/'), ...s3, ...(encryption ? { serverSideEncryption: encryption } : {}) }
  }
  return { problem: `STORAGE_URL has the unsupported scheme ${parsed.protocol.replace(/:$/, '')}: use file:///absolute/dir or s3://bucket/prefix` }
}

function parseServerSideEncryption ({ mode, kmsKeyId }: { mode: string, kmsKeyId: string }): S3ServerSideEncryption | { problem: string } | undefined {
  if (mode === '') return kmsKeyId === '' ? undefined : { problem: 'S3_SSE_KMS_KEY_ID needs S3_SSE=aws:kms' }
  if (mode === 'AES256') return kmsKeyId === '' ? { ServerSideEncryption: 'AES256' } : { problem: 'S3_SSE_KMS_KEY_ID needs S3_SSE=aws:kms, not AES256 (SSE-S3 uses keys S3 manages)' }
  if (mode !== 'aws:kms') return { problem: `S3_SSE must be AES256 (SSE-S3) or aws:kms (SSE-KMS), not ${JSON.stringify(mode.slice(0, 40))}` }
  if (kmsKeyId === '') return { ServerSideEncryption: 'aws:kms' }
  if (!KMS_KEY.test(kmsKeyId)) return { problem: 'S3_SSE_KMS_KEY_ID must be a KMS key id, key ARN, alias/NAME or alias ARN' }
  return { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: kmsKeyId }
}
