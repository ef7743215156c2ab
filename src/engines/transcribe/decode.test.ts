import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { EngineError } from '../engine.ts'
import { decodeArgs, decodeAudio, SAMPLE_RATE } from './decode.ts'

/** A second of 16 kHz mono silence as a WAV file. */
function silentWav (): Buffer {
  const data = SAMPLE_RATE * 2
  const header = Buffer.alloc(44)
  header.write('RIFF', 0)
  header.writeUInt32LE(36 + data, 4)
  header.write('WAVEfmt ', 8)
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20)
  header.writeUInt16LE(1, 22)
  header.writeUInt32LE(SAMPLE_RATE, 24)
  header.writeUInt32LE(SAMPLE_RATE * 2, 28)
  header.writeUInt16LE(2, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36)
  header.writeUInt32LE(data, 40)
  return Buffer.concat([header, Buffer.alloc(data)])
}

describe('transcription decode', () => {
  let dir: string
  const options = () => ({ signal: new AbortController().signal, durationSec: 1 })
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'tympan-decode-')) })
  after(() => rm(dir, { recursive: true, force: true }))

  it('reads the upload and writes the PCM only through the file protocol, whatever the paths look like', () => {
    const args = decodeArgs('http://evil/x.mp3', '-', 's16le')
    assert.equal(args[args.indexOf('-protocol_whitelist') + 1], 'file')
    assert.ok(args.indexOf('-protocol_whitelist') < args.indexOf('-i'), 'the whitelist applies to the input only when it comes first')
    assert.equal(args[args.indexOf('-i') + 1], 'file:http://evil/x.mp3')
    assert.equal(args.at(-1), 'file:-')
  })

  it('decodes a file to 16 kHz PCM, and takes a protocol-looking path as a file name (concat: joins nothing)', async () => {
    const wav = join(dir, 'a.wav')
    await writeFile(wav, silentWav())
    const out = join(dir, 'a.pcm')
    await decodeAudio(wav, out, 's16le', options())
    assert.equal((await readFile(out)).length, SAMPLE_RATE * 2)

    // Through the concat protocol these two paths would be one 2-second input.
    const joined = join(dir, 'joined.pcm')
    await assert.rejects(decodeAudio(`concat:${wav}|${wav}`, joined, 's16le', options()),
      (error) => error instanceof EngineError && error.kind === 'invalid-input')
  })
})
