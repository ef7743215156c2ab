import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { inspect } from 'node:util'
import { after, describe, it } from 'node:test'
import { ConfigError, parseEnv } from './config.ts'
import { loadConfig } from './load-config.ts'
import { parseStorageEncryption, storageKeyId, withStorageKeyFiles } from './storage-encryption.ts'

const key = () => randomBytes(32).toString('base64')

describe('storage encryption keys', () => {
  it('is off without a key, and names each key by a fingerprint that is not the key', () => {
    assert.deepEqual(parseEnv({}).storageEncryption, { current: undefined, previous: [] })
    const value = key()
    const { current } = parseEnv({ STORAGE_ENCRYPTION_KEY: value }).storageEncryption
    assert.match(current!.id, /^[0-9a-f]{16}$/)
    assert.equal(current!.id, storageKeyId(Buffer.from(value, 'base64')))
    assert.ok(!inspect(parseEnv({ STORAGE_ENCRYPTION_KEY: value }), { depth: 10 }).includes(value), 'the config shows no key bytes')
    assert.ok(!JSON.stringify(parseEnv({ STORAGE_ENCRYPTION_KEY: value })).includes(value))
  })

  it('takes older keys separated by commas or lines, without the current one again', () => {
    const [now, old1, old2] = [key(), key(), key()]
    const parsed = parseStorageEncryption(now, `${old1},\n${old2}\n${now}\n`)
    assert.ok(!('problems' in parsed))
    assert.deepEqual(parsed.previous.map((k) => k.id), [old1, old2].map((k) => storageKeyId(Buffer.from(k, 'base64'))))
  })

  it('refuses a malformed key with a message that does not echo it', () => {
    const short = randomBytes(16).toString('base64')
    const notBase64 = `${key().slice(0, 40)}!!!!`
    for (const [value, reason] of [[short, /decodes to 16 bytes, not 32/], [notBase64, /is not base64/], [`${key()}${key()}`, /is not base64|not 32/]] as const) {
      assert.throws(() => parseEnv({ STORAGE_ENCRYPTION_KEY: value }), (error: unknown) => error instanceof ConfigError && reason.test(error.message) && !error.message.includes(value) && /STORAGE_ENCRYPTION_KEY/.test(error.message))
    }
    assert.throws(() => parseEnv({ STORAGE_ENCRYPTION_KEY: key(), STORAGE_ENCRYPTION_PREVIOUS_KEYS: `${key()},${short}` }), /STORAGE_ENCRYPTION_PREVIOUS_KEYS \(key 2 of 2\) decodes to 16 bytes/)
    assert.throws(() => parseEnv({ STORAGE_ENCRYPTION_KEY: `${key()},${key()}` }), /more than one key/)
    assert.throws(() => parseEnv({ STORAGE_ENCRYPTION_PREVIOUS_KEYS: key() }), /without STORAGE_ENCRYPTION_KEY/)
  })
})

describe('storage key files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-keyfile-'))
  after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const keyFile = (content: string, mode: number) => {
    const file = path.join(dir, `key-${randomBytes(4).toString('hex')}`)
    fs.writeFileSync(file, content, { mode })
    fs.chmodSync(file, mode)
    return file
  }

  it('reads the key and the older keys from files (one a line)', () => {
    const [now, old] = [key(), key()]
    const config = loadConfig({ TYMPAN_DATA_DIR: dir, STORAGE_ENCRYPTION_KEY_FILE: keyFile(`${now}\n`, 0o600), STORAGE_ENCRYPTION_PREVIOUS_KEYS_FILE: keyFile(`${old}\n`, 0o400) })
    assert.equal(config.storageEncryption.current!.id, storageKeyId(Buffer.from(now, 'base64')))
    assert.equal(config.storageEncryption.previous[0]!.id, storageKeyId(Buffer.from(old, 'base64')))
  })

  it('refuses a key file others may read in production, both forms at once, and a missing file', () => {
    const open = keyFile(key(), 0o644)
    assert.deepEqual(withStorageKeyFiles({ TYMPAN_ENV: 'production', STORAGE_ENCRYPTION_KEY_FILE: open }), { problem: `STORAGE_ENCRYPTION_KEY_FILE ${open} may be read by its group or others (mode 644): chmod 600 it (or 400)` })
    assert.ok('source' in withStorageKeyFiles({ STORAGE_ENCRYPTION_KEY_FILE: open }), 'development takes it')
    assert.match((withStorageKeyFiles({ STORAGE_ENCRYPTION_KEY: key(), STORAGE_ENCRYPTION_KEY_FILE: open }) as { problem: string }).problem, /both set/)
    assert.match((withStorageKeyFiles({ STORAGE_ENCRYPTION_KEY_FILE: path.join(dir, 'absent') }) as { problem: string }).problem, /cannot be read: ENOENT/)
    assert.throws(() => loadConfig({ TYMPAN_DATA_DIR: dir, STORAGE_ENCRYPTION_KEY_FILE: keyFile('not a key at all', 0o600) }), (error: unknown) => error instanceof ConfigError && !error.message.includes('not a key at all'))
  })
})
