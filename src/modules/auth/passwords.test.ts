import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { dictionary } from '@zxcvbn-ts/language-common'
import { ARGON2_OPTIONS, hashPassword, PASSWORD_MAX, PASSWORD_MIN, passwordProblem, verifyPassword } from './passwords.ts'

describe('password policy', () => {
  it('requires 12 to 256 characters', () => {
    assert.equal(PASSWORD_MIN, 12)
    assert.equal(PASSWORD_MAX, 256)
    assert.match(passwordProblem('x7#kPq2vLm9') ?? '', /at least 12/)
    assert.equal(passwordProblem('x7#kPq2vLm9z'), undefined)
    assert.equal(passwordProblem('plain lowercase words'), undefined, 'no composition rules')
    assert.equal(passwordProblem('ab'.repeat(128)), undefined, '256 characters are allowed')
    assert.match(passwordProblem(`${'ab'.repeat(128)}c`) ?? '', /at most 256/)
  })

  it('counts characters, not UTF-16 units', () => {
    // 12 emoji are 24 UTF-16 code units but 12 characters.
    assert.equal(passwordProblem('🎵🎶🎸🎹🎺🎻🥁🎷🪕🎤🎧📻'), undefined)
    assert.match(passwordProblem('🎵🎶🎸🎹🎺🎻') ?? '', /at least 12/)
  })

  it('rejects common passwords from the zxcvbn list, in any case', () => {
    const common = dictionary['passwords-common']
    for (const password of ['password1234', 'qwertyuiop12', '123456789012']) {
      assert.ok(common.includes(password), `${password} is on the list`)
      assert.match(passwordProblem(password) ?? '', /commonly used/)
    }
    assert.match(passwordProblem('PASSWORD1234') ?? '', /commonly used/)
    const longer = common.filter((p) => p.length >= PASSWORD_MIN && p.length <= PASSWORD_MAX)
    assert.ok(longer.length > 100)
    for (const password of longer.slice(0, 50)) assert.ok(passwordProblem(password), password)
  })

  it('rejects one repeated character', () => {
    assert.match(passwordProblem('zzzzzzzzzzzzzzzz') ?? '', /repeated/)
  })

  it('rejects passwords derived from the email address', () => {
    const email = 'alexandra.smith@example.org'
    assert.match(passwordProblem(email, email) ?? '', /email/)
    assert.match(passwordProblem('ALEXANDRA.SMITH@example.org', email) ?? '', /email/)
    assert.match(passwordProblem('alexandra.smith12', email) ?? '', /email/)
    assert.equal(passwordProblem('alexandra.smith12', 'someone@example.org'), undefined)
    assert.equal(passwordProblem('an unrelated long passphrase', email), undefined)
  })
})

describe('password hashing', () => {
  it('uses argon2id at the OWASP minimum (m=19456, t=2, p=1)', async () => {
    assert.equal(ARGON2_OPTIONS.memoryCost, 19456)
    const stored = await hashPassword('a perfectly long test passphrase')
    const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(stored)
    assert.ok(match, `PHC string: ${stored}`)
    const [, m, t, p, salt] = match
    assert.equal(Number(m), 19456)
    assert.equal(Number(t), 2)
    assert.equal(Number(p), 1)
    assert.ok(Buffer.from(salt as string, 'base64').length >= 16, 'salt of at least 128 bits')
  })

  it('salts every hash', async () => {
    assert.notEqual(await hashPassword('the same passphrase here'), await hashPassword('the same passphrase here'))
  })

  it('verifies the right password and refuses a wrong one or a malformed hash', async () => {
    const stored = await hashPassword('a perfectly long test passphrase')
    assert.equal(await verifyPassword(stored, 'a perfectly long test passphrase'), true)
    assert.equal(await verifyPassword(stored, 'a perfectly long test passphrasE'), false)
    assert.equal(await verifyPassword(stored, ''), false)
    assert.equal(await verifyPassword('not a hash', 'a perfectly long test passphrase'), false)
  })
})
