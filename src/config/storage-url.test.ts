import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseEnv, ConfigError } from './config.ts'
import { parseStorageUrl } from './storage-url.ts'

const S3 = { endpoint: '', forcePathStyle: false, region: '' }

describe('STORAGE_URL', () => {
  it('defaults to files/ under the data directory, and takes a file: URL for a directory elsewhere', () => {
    assert.deepEqual(parseStorageUrl('', '/var/lib/tympan', S3), { driver: 'local', root: '/var/lib/tympan/files' })
    assert.deepEqual(parseStorageUrl('file:///mnt/audio%20store/', '/var/lib/tympan', S3), { driver: 'local', root: '/mnt/audio store' })
  })

  it('reads s3://bucket/prefix with the S3_* overrides, the prefix trimmed of slashes', () => {
    const s3 = { endpoint: 'https://minio.internal:9000', forcePathStyle: true, region: 'auto' }
    assert.deepEqual(parseStorageUrl('s3://tympan-audio/prod/eu/', '/d', s3), { driver: 's3', bucket: 'tympan-audio', prefix: 'prod/eu', ...s3 })
    assert.deepEqual(parseStorageUrl('s3://tympan-audio', '/d', S3), { driver: 's3', bucket: 'tympan-audio', prefix: '', ...S3 })
  })

  it('refuses what it cannot serve safely, saying why', () => {
    const refusals: [string, RegExp][] = [
      ['not a url', /not a URL/],
      ['https://bucket.s3.amazonaws.com/x', /unsupported scheme https/],
      ['file://host/dir', /without host/],
      ['s3://AKIA:secret@bucket/x', /must not hold credentials/],
      ['s3://Bad_Bucket/x', /invalid bucket/],
      ['s3://ab/x', /invalid bucket/],
      ['s3://bucket:9000/x', /without port/],
      ['s3://bucket/x?versionId=1', /without port, query/],
      ['s3://bucket/a/%2e%2e/b', /invalid key prefix/],
      ['s3://bucket/a b', /invalid key prefix/],
      ['s3://bucket/a/../b', /invalid key prefix/]
    ]
    for (const [url, problem] of refusals) {
      const parsed = parseStorageUrl(url, '/d', S3)
      assert.ok('problem' in parsed, url)
      assert.match(parsed.problem, problem, url)
    }
    assert.match((parseStorageUrl('s3://bucket/x', '/d', { ...S3, endpoint: 'minio:9000' }) as { problem: string }).problem, /S3_ENDPOINT must be an http\(s\) URL/)
    assert.match((parseStorageUrl('s3://bucket/x', '/d', { ...S3, endpoint: 'https://key:secret@minio' }) as { problem: string }).problem, /S3_ENDPOINT must not hold credentials/)
  })

  it('is checked when the configuration is parsed, so a bad URL stops the start', () => {
    assert.throws(() => parseEnv({ STORAGE_URL: 'ftp://files' }), (error: unknown) => error instanceof ConfigError && /STORAGE_URL has the unsupported scheme ftp/.test(error.message))
    assert.deepEqual(parseEnv({ STORAGE_URL: 's3://tympan/x', S3_FORCE_PATH_STYLE: 'true', S3_ENDPOINT: 'http://127.0.0.1:9000' }).storage,
      { driver: 's3', bucket: 'tympan', prefix: 'x', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true, region: '' })
  })
})

describe('S3_SSE and S3_SSE_KMS_KEY_ID', () => {
  const KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'
  const sse = (mode: string, kmsKeyId = '', url = 's3://tympan/x') => parseStorageUrl(url, '/d', S3, { mode, kmsKeyId })

  it('reads SSE-S3, and SSE-KMS with the default or a named key, in the SDK\'s parameter names', () => {
    assert.deepEqual(sse('AES256'), { driver: 's3', bucket: 'tympan', prefix: 'x', ...S3, serverSideEncryption: { ServerSideEncryption: 'AES256' } })
    assert.deepEqual((sse('aws:kms') as { serverSideEncryption: unknown }).serverSideEncryption, { ServerSideEncryption: 'aws:kms' })
    for (const key of [KEY, 'alias/tympan-audio', '1234abcd-12ab-34cd-56ef-1234567890ab']) {
      assert.deepEqual((sse('aws:kms', key) as { serverSideEncryption: unknown }).serverSideEncryption, { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: key })
    }
    assert.equal('serverSideEncryption' in sse(''), false, 'none unless asked for')
  })

  it('refuses a value S3 would not take, a key without KMS, and either on local storage', () => {
    for (const [mode, key, url, problem] of [
      ['aes256', '', 's3://tympan/x', /S3_SSE must be AES256 \(SSE-S3\) or aws:kms \(SSE-KMS\), not "aes256"/],
      ['aws:kms:dsse', '', 's3://tympan/x', /S3_SSE must be/],
      ['AES256', KEY, 's3://tympan/x', /S3_SSE_KMS_KEY_ID needs S3_SSE=aws:kms, not AES256/],
      ['', KEY, 's3://tympan/x', /S3_SSE_KMS_KEY_ID needs S3_SSE=aws:kms/],
      ['aws:kms', 'key id\r\nx-amz-acl: public-read', 's3://tympan/x', /must be a KMS key id/],
      ['AES256', '', '', /apply to an S3 bucket/],
      ['aws:kms', '', 'file:///srv/audio', /apply to an S3 bucket/]
    ] as const) {
      const parsed = sse(mode, key, url)
      assert.ok('problem' in parsed, `${mode} ${key} ${url}`)
      assert.match(parsed.problem, problem)
    }
  })

  it('stops the start with a clear error', () => {
    assert.throws(() => parseEnv({ STORAGE_URL: 's3://tympan/x', S3_SSE: 'kms' }), (error: unknown) => error instanceof ConfigError && /S3_SSE must be AES256/.test(error.message))
    assert.deepEqual(parseEnv({ STORAGE_URL: 's3://tympan/x', S3_SSE: 'aws:kms', S3_SSE_KMS_KEY_ID: KEY }).storage,
      { driver: 's3', bucket: 'tympan', prefix: 'x', endpoint: '', forcePathStyle: false, region: '', serverSideEncryption: { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KEY } })
  })
})
