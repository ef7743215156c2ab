import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { dictionary } from '@zxcvbn-ts/language-common'
import { generatePassword } from '../users/users.service.ts'
import { ARGON2_OPTIONS, hashPassword, PASSWORD_MAX, PASSWORD_MIN, passwordProblem, verifyPassword } from './passwords.ts'

describe('password policy', () => {
  const refused = (password: string, email?: string) => passwordProblem(password, email) ?? ''

  it('requires 12 to 256 characters', () => {
    assert.equal(PASSWORD_MIN, 12)
    assert.equal(PASSWORD_MAX, 256)
    assert.match(refused('x7#kPq2vLm9'), /at least 12/)
    assert.equal(passwordProblem('x7#kPq2vLm9z'), undefined)
    assert.equal(passwordProblem('plain lowercase words'), undefined, 'no composition rules')
    const long = randomBytes(192).toString('base64url')
    assert.equal(passwordProblem(long), undefined, '256 characters are allowed')
    assert.match(refused(`${long}c`), /at most 256/)
  })

  it('counts characters, not UTF-16 units', () => {
    // 12 emoji are 24 UTF-16 code units but 12 characters.
    assert.equal(passwordProblem('🎵🎶🎸🎹🎺🎻🥁🎷🪕🎤🎧📻'), undefined)
    assert.match(refused('🎵🎶🎸🎹🎺🎻'), /at least 12/)
  })

  it('refuses common passwords from the zxcvbn list, in any case', () => {
    const common = dictionary['passwords-common']
    for (const password of ['password1234', 'qwertyuiop12', '123456789012']) {
      assert.ok(common.includes(password), `${password} is on the list`)
      assert.match(refused(password), /commonly used/)
    }
    assert.match(refused('PASSWORD1234'), /commonly used/)
    const longer = common.filter((p) => p.length >= PASSWORD_MIN && p.length <= PASSWORD_MAX)
    assert.ok(longer.length > 100)
    for (const password of longer.slice(0, 50)) assert.ok(passwordProblem(password), password)
  })

  it('refuses dictionary words with digit runs, keyboard walks, repeats, sequences and l33t spellings', () => {
    for (const password of [
      'password123456', 'qwertyuiop2024', 'dragon12345678', 'iloveyou2024', 'Password2024!', 'p@$$w0rd2024',
      'qazwsxedcrfv', '1q2w3e4r5t6y', 'zzzzzzzzzzzzzzzz', 'trustno1trustno1', 'abcdefghijklmnop', '123456789012345', 'ab'.repeat(128)
    ]) {
      assert.match(refused(password), /^Password is too easy to guess\. \S/, password)
    }
  })

  it('says what is wrong and what to do, in zxcvbn\'s words', () => {
    assert.equal(refused('password123456'), 'Password is too easy to guess. This is similar to a commonly used password. Add more words that are less common.')
    assert.match(refused('zzzzzzzzzzzzzzzz'), /Repeated characters like "aaa" are easy to guess\. .*Avoid repeated words and characters\./)
    assert.match(refused('abcdefghijklmnop'), /Avoid common character sequences/)
  })

  it('refuses passwords derived from the email address', () => {
    const email = 'alexandra.smith@example.org'
    for (const password of [email, 'ALEXANDRA.SMITH@example.org', 'alexandra.smith12', 'smith.alexandra2024', 'examplealexandra']) {
      assert.match(refused(password, email), /your email address/, password)
    }
    assert.equal(passwordProblem('an unrelated long passphrase', email), undefined)
    assert.match(refused('tympan12345678', 'ops@example.org'), /too easy/, 'the service name counts as known too')
    assert.equal(passwordProblem('alexandra mango tulip oxide crane', email), undefined, 'a strong password may still contain a name')
  })

  it('accepts long passphrases and generated passwords', () => {
    for (const password of [
      'a perfectly long test passphrase', 'another perfectly long passphrase', 'a different long passphrase', 'another long test passphrase',
      'another long passphrase here', 'correct horse battery staple', 'correct horse battery staple, but longer',
      'mango tulip oxide crane', 'tiger table bloom sand', 'the same passphrase here'
    ]) {
      assert.equal(passwordProblem(password, 'member-1@example.test'), undefined, password)
    }
    for (let i = 0; i < 20; i++) {
      const generated = generatePassword()
      assert.equal(passwordProblem(generated, 'admin@tympan.local'), undefined, generated)
    }
  })

  it('judges a 256-character password in bounded time', () => {
    passwordProblem('warm up the dictionaries')
    const worst = [
      randomBytes(192).toString('base64url'), 'p@$$w0rd'.repeat(32), '4@3!1|0$5+7'.repeat(24).slice(0, 256),
      'qwerty1234'.repeat(26).slice(0, 256), '19901231'.repeat(32), '1'.repeat(256)
    ]
    for (const password of worst) {
      // Best of three, with room for a busy machine: unbounded, the random one took 2.5 s; bounded, ~30 ms.
      const ms = Math.min(...[0, 1, 2].map(() => {
        const started = performance.now()
        passwordProblem(password)
        return performance.now() - started
      }))
      assert.ok(ms < 250, `${password.slice(0, 16)}…: ${ms.toFixed(1)} ms`)
    }
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
