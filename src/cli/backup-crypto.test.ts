import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { describe, it } from 'node:test'
import { generateX25519Identity, identityToRecipient } from 'age-encryption'
import { checkIdentity, decryptStream, encryptStream, keyLines, macMatches, manifestMac, newBackupKey, openBackupKey, parseSealing, passphraseWeakness } from './backup-crypto.ts'

const PASSPHRASE = randomBytes(36).toString('base64')
const identity = await generateX25519Identity()
const recipient = await identityToRecipient(identity)

describe('backup keys', () => {
  it('seals a new key with a passphrase, which opens it again, and nothing else does', async () => {
    const sealing = await newBackupKey({ passphrase: PASSPHRASE })
    assert.equal(sealing.sealedWith, 'passphrase')
    assert.match(sealing.recipient, /^age1/)
    const keyFile = Buffer.from(sealing.keyFile, 'base64')
    assert.match(keyFile.toString('latin1'), /^age-encryption\.org\/v1\n-> scrypt /, 'a standard age file')
    assert.ok(!keyFile.toString('latin1').includes('AGE-SECRET-KEY'), 'the backup key is not readable in key.age')
    const key = await openBackupKey(keyFile, { passphrase: PASSPHRASE })
    assert.equal(key.macKey.toString('base64'), sealing.macKey)
    await assert.rejects(openBackupKey(keyFile, { passphrase: `${PASSPHRASE}x` }), /the passphrase does not open this backup's key\.age/)
  })

  it('seals a new key to recipients: the matching identity opens it, another does not', async () => {
    const sealing = await newBackupKey({ recipients: [recipient] })
    assert.equal(sealing.sealedWith, 'recipients')
    const keyFile = Buffer.from(sealing.keyFile, 'base64')
    const key = await openBackupKey(keyFile, { identities: [identity] })
    assert.equal(key.macKey.toString('base64'), sealing.macKey)
    await assert.rejects(openBackupKey(keyFile, { identities: [await generateX25519Identity()] }), /none of the identities opens/)
  })

  it('refuses a weak passphrase without quoting it, and a recipient that is not one', async () => {
    for (const weak of ['tympan', 'correct horse battery staple correct horse', 'a'.repeat(40)]) {
      const error = await newBackupKey({ passphrase: weak }).then(() => undefined, (e: unknown) => e as Error)
      assert.ok(error, `${weak} is refused`)
      assert.match(error.message, /The backup passphrase (is shorter|is guessable)/)
      assert.ok(!error.message.includes(weak))
    }
    assert.equal(passphraseWeakness(PASSPHRASE), undefined)
    await assert.rejects(newBackupKey({ recipients: ['ssh-ed25519 AAAA'] }), /is not an age recipient/)
    await assert.rejects(newBackupKey({ recipients: ['age1notreallyakey'] }), /is not an age recipient.*Unknown letter/)
    await assert.rejects(newBackupKey({ recipients: [] }), /needs a passphrase or at least one recipient/)
  })
})

describe('backup manifest MAC', () => {
  const macKey = randomBytes(32)
  const manifest = { format: 'tympan-backup', version: 2, objects: [{ id: 'x', size: 3 }] }

  it('matches the manifest it was made for, and no edit of it', () => {
    const mac = manifestMac(manifest, macKey)
    assert.ok(macMatches(manifest, mac, macKey))
    assert.ok(!macMatches({ ...manifest, objects: [{ id: 'x', size: 4 }] }, mac, macKey))
    assert.ok(!macMatches({ ...manifest, objects: [] }, mac, macKey))
    assert.ok(!macMatches(manifest, mac, randomBytes(32)), 'another key')
    assert.ok(!macMatches(manifest, mac.slice(2), macKey), 'a shortened MAC')
  })
})

describe('backup file encryption', async () => {
  const plain = Buffer.concat([Buffer.from('RIFF'), randomBytes(200_000)])
  const sealing = await newBackupKey({ recipients: [recipient] })
  const opened = await openBackupKey(Buffer.from(sealing.keyFile, 'base64'), { identities: [identity] })
  const encrypt = async () => await buffer(await encryptStream(Readable.from([plain]), sealing.recipient))
  const decrypt = async (sealed: Buffer) => await buffer(await decryptStream(Readable.from([sealed]), opened))

  it('streams an age file that hides the content, and streams it back', async () => {
    const sealed = await encrypt()
    assert.match(sealed.subarray(0, 22).toString('latin1'), /^age-encryption\.org\/v1/)
    assert.equal(sealed.indexOf('RIFF'), -1)
    assert.deepEqual(await decrypt(sealed), plain)
  })

  it('refuses one flipped bit, and an end cut off inside a chunk or at a chunk boundary', async () => {
    const flipped = await encrypt()
    flipped[flipped.length - 100]! ^= 1
    await assert.rejects(decrypt(flipped), /invalid tag/)
    const whole = await encrypt()
    // After the header: a 16-byte nonce, then chunks of 64 KiB and their 16-byte tags.
    const payload = whole.indexOf('\n', whole.indexOf('\n---') + 1) + 1 + 16
    await assert.rejects(decrypt(whole.subarray(0, payload + 65_536 + 16)))
    await assert.rejects(decrypt(whole.subarray(0, whole.length - 1000)), /invalid tag/)
  })
})

describe('key files and the control socket request', () => {
  it('reads age key files as age does: comments and blank lines skipped', () => {
    assert.deepEqual(keyLines(`# created: 2026-12-01\n# public key: ${recipient}\n\n${identity}\n`), [identity])
    assert.equal(checkIdentity(identity, 'key.txt'), identity)
    assert.throws(() => checkIdentity('AGE-PLUGIN-YUBIKEY-1XYZ', 'key.txt'), (error: Error) => /key\.txt holds a line that is not an age identity/.test(error.message) && !error.message.includes('YUBIKEY'))
  })

  it('takes a well-formed sealing and refuses anything else without quoting it', async () => {
    const sealing = await newBackupKey({ recipients: [recipient] })
    assert.deepEqual(parseSealing({ ...sealing, extra: 1 }), sealing)
    for (const [change, reason] of [
      [{ sealedWith: 'none' }, /no valid sealing/],
      [{ recipient: 'age1 ; rm' }, /no valid recipient/],
      [{ keyFile: 'x'.repeat(40_000) }, /no valid key file/],
      [{ macKey: Buffer.alloc(16).toString('base64') }, /no valid MAC key/]
    ] as const) {
      const answer = parseSealing({ ...sealing, ...change })
      assert.equal(typeof answer, 'string')
      assert.match(answer as string, reason)
    }
    assert.match(parseSealing('x') as string, /not an object/)
  })
})
