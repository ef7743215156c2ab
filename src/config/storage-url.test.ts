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
