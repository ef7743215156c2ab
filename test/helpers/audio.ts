import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/**
 * Audio fixtures for intake tests, generated with sox, ffmpeg and espeak-ng on first use and
 * cached for the life of the process (never downloaded). Good files share one source: a 3 s
 * stereo 44.1 kHz sine, so every accepted format reports the same duration, rate and layout.
 */
export const GOOD_FORMATS = ['wav', 'mp3', 'flac', 'aac', 'ogg', 'm4a', 'wma'] as const
export type GoodFormat = typeof GOOD_FORMATS[number]

export type BadFixture =
  | 'text' | 'elf' | 'flacBytes' | 'empty' | 'headerOnly' | 'truncated' | 'tenHourClaim'
  | 'mp3Garbage' | 'videoOnly'

export type Fixture = GoodFormat | BadFixture | 'speech' | 'longWav'

let dir: string | undefined
const cache = new Map<string, string>()

function fixtureDir (): string {
  if (!dir) {
    const made = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-audio-'))
    dir = made
    process.once('exit', () => fs.rmSync(made, { recursive: true, force: true }))
  }
  return dir
}

const run = (binary: string, args: string[]) => { execFileSync(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] }) }
const ffmpeg = (...args: string[]) => run('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args])

/** A canonical 44-byte RIFF/WAVE header for 16-bit PCM. */
export function wavHeader (dataBytes: number, sampleRate = 44100, channels = 2): Buffer {
  const header = Buffer.alloc(44)
  const blockAlign = channels * 2
  header.write('RIFF', 0, 'ascii')
  header.writeUInt32LE(36 + dataBytes, 4)
  header.write('WAVE', 8, 'ascii')
  header.write('fmt ', 12, 'ascii')
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20)
  header.writeUInt16LE(channels, 22)
  header.writeUInt32LE(sampleRate, 24)
  header.writeUInt32LE(sampleRate * blockAlign, 28)
  header.writeUInt16LE(blockAlign, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36, 'ascii')
  header.writeUInt32LE(dataBytes, 40)
  return header
}

/** Deterministic noise, so a failing run can be repeated byte for byte. */
function noise (bytes: number): Buffer {
  const blocks: Buffer[] = []
  for (let i = 0; i * 32 < bytes; i++) blocks.push(createHash('sha256').update(`tympan-noise-${i}`).digest())
  return Buffer.concat(blocks).subarray(0, bytes)
}

// How each allowed format is made from the WAV tone (ffmpeg's default encoder for .wma).
const ENCODERS: Record<Exclude<GoodFormat, 'wav'>, string[]> = {
  mp3: ['-c:a', 'libmp3lame', '-b:a', '128k'],
  flac: ['-c:a', 'flac'],
  aac: ['-c:a', 'aac', '-f', 'adts'],
  ogg: ['-c:a', 'libvorbis'],
  m4a: ['-c:a', 'aac'],
  wma: []
}

function make (name: Fixture, out: string): void {
  switch (name) {
    case 'wav':
      run('sox', ['-n', '-r', '44100', '-c', '2', '-b', '16', out, 'synth', '3', 'sine', '440'])
      return
    case 'mp3':
    case 'flac':
    case 'aac':
    case 'ogg':
    case 'm4a':
    case 'wma':
      ffmpeg('-i', fixture('wav'), ...ENCODERS[name], out)
      return
    case 'speech':
      run('espeak-ng', ['-w', out, 'Tympan accepts audio only after checking every byte.'])
      return
    case 'longWav':
      run('sox', ['-n', '-r', '44100', '-c', '2', '-b', '16', out, 'synth', '10', 'sine', '220'])
      return
    case 'videoOnly':
      ffmpeg('-f', 'lavfi', '-i', 'testsrc=duration=1:size=64x64:rate=10', '-c:v', 'mpeg4', '-f', 'mp4', out)
      return
    case 'text':
      fs.writeFileSync(out, 'This is a plain text file pretending to be audio.\n'.repeat(40))
      return
    case 'elf':
      fs.copyFileSync('/bin/true', out)
      return
    case 'flacBytes':
      fs.copyFileSync(fixture('flac'), out)
      return
    case 'empty':
      fs.writeFileSync(out, '')
      return
    case 'headerOnly':
      fs.writeFileSync(out, fs.readFileSync(fixture('wav')).subarray(0, 44))
      return
    case 'truncated':
      fs.writeFileSync(out, fs.readFileSync(fixture('longWav')).subarray(0, 50 * 1024))
      return
    case 'tenHourClaim': {
      // The header promises 10 h of 16-bit 44.1 kHz audio; the body holds 4 KB of samples. Stereo
      // would need 6.35 GB, past the 32-bit RIFF size field, so the claim is made in mono.
      const tenHours = 10 * 3600 * 44100 * 2
      const samples = fs.readFileSync(fixture('wav')).subarray(44, 44 + 4096)
      fs.writeFileSync(out, Buffer.concat([wavHeader(tenHours, 44100, 1), samples]))
      return
    }
    case 'mp3Garbage': {
      // The first frames are real MP3 (the magic and the first packets decode), the rest is noise.
      const mp3 = fs.readFileSync(fixture('mp3'))
      fs.writeFileSync(out, Buffer.concat([mp3.subarray(0, 16 * 1024), noise(mp3.length)]))
      return
    }
  }
}

/** Path of a generated fixture; generated on first use, then cached by name. */
export function fixture (name: Fixture): string {
  const cached = cache.get(name)
  if (cached) return cached
  const file = path.join(fixtureDir(), `${name}${extensionForTools(name)}`)
  make(name, file)
  cache.set(name, file)
  return file
}

// sox and ffmpeg choose the container from the output name, so generate under the real extension.
function extensionForTools (name: Fixture): string {
  if ((GOOD_FORMATS as readonly string[]).includes(name)) return `.${name}`
  if (name === 'speech' || name === 'longWav') return '.wav'
  if (name === 'videoOnly') return '.mp4'
  return '.bin'
}

export const readFixture = (name: Fixture): Buffer => fs.readFileSync(fixture(name))
export const sha256Of = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

export interface MultipartFile {
  field?: string
  filename: string
  content: Buffer
  contentType?: string
}

/**
 * A multipart/form-data body built by hand, for what FormData cannot express: raw bytes in a
 * file name (NUL, backslashes), or hundreds of parts. Strings are fields; objects are files.
 */
export function multipart (parts: Record<string, string | MultipartFile> | [string, string | MultipartFile][]): { body: Buffer, contentType: string } {
  const boundary = `----tympan-test-${randomBytes(12).toString('hex')}`
  const entries = Array.isArray(parts) ? parts : Object.entries(parts)
  const chunks: Buffer[] = []
  for (const [name, value] of entries) {
    if (typeof value === 'string') {
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`))
    } else {
      const field = value.field ?? name
      const filename = value.filename.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: ${value.contentType ?? 'application/octet-stream'}\r\n\r\n`))
      chunks.push(value.content, Buffer.from('\r\n'))
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` }
}
