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
  | 'mp3Garbage' | 'videoOnly' | 'streamedMp3Garbage' | 'streamedAdpcmGarbage' | 'streamedLongFlac' | 'bigListForged'

export type Fixture = GoodFormat | BadFixture | 'speech' | 'longWav' | 'bigListWav'

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

/** One RIFF chunk; `declared` is the size its header states (a forger's lie, if it differs). */
function riffChunk (id: string, body: Buffer, declared = body.length): Buffer {
  const header = Buffer.alloc(8)
  header.write(id, 0, 'latin1')
  header.writeUInt32LE(declared, 4)
  return Buffer.concat([header, body, Buffer.alloc(body.length % 2)])
}

/** A RIFF/WAVE file of 16-bit PCM whose data chunk comes after a LIST chunk of `listBytes`. */
function wavAfterList (listBytes: number, samples: Buffer, declaredData: number, sampleRate = 44100, channels = 2): Buffer {
  const fmt = wavHeader(0, sampleRate, channels).subarray(20, 36)
  const comment = riffChunk('ICMT', Buffer.alloc(listBytes, 0x20))
  const body = Buffer.concat([Buffer.from('WAVE'), riffChunk('fmt ', fmt), riffChunk('LIST', Buffer.concat([Buffer.from('INFO'), comment])),
    riffChunk('data', samples, declaredData)])
  return Buffer.concat([Buffer.from('RIFF'), Buffer.from(Uint32Array.of(body.length).buffer), body])
}

/** `bytes` with deterministic noise over `length` bytes from the middle on. */
const noisyMiddle = (bytes: Buffer, length: number): Buffer => {
  const copy = Buffer.from(bytes)
  noise(length).copy(copy, Math.floor(copy.length / 2))
  return copy
}

/** What `binary args… | cat > out` writes: a real pipe, where the writer cannot go back to fill in the length. */
function pipedTo (out: string, binary: string, args: string[]): void {
  execFileSync('sh', ['-c', `"$0" "$@" | cat > '${out}'`, binary, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
}
const ffmpegToPipe = (out: string, ...args: string[]) => { pipedTo(out, 'ffmpeg', ['-nostdin', '-loglevel', 'error', ...args, '-']) }

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
    case 'streamedMp3Garbage':
    case 'streamedAdpcmGarbage': {
      // A WAV written to a pipe (no length in the header) with noise in the middle of its
      // data: the decode check must still see the corruption that is not at the end.
      const streamed = `${out}.streamed`
      ffmpegToPipe(streamed, '-i', fixture('wav'), '-c:a', name === 'streamedMp3Garbage' ? 'libmp3lame' : 'adpcm_ima_wav', '-f', 'wav')
      fs.writeFileSync(out, noisyMiddle(fs.readFileSync(streamed), 16 * 1024))
      fs.rmSync(streamed)
      return
    }
    case 'streamedLongFlac':
      ffmpegToPipe(out, '-i', fixture('longWav'), '-f', 'flac')
      return
    case 'bigListForged':
      // The data chunk starts past 200 KiB and promises 10 h of mono audio over 4 KB.
      fs.writeFileSync(out, wavAfterList(200 * 1024, fs.readFileSync(fixture('wav')).subarray(44, 44 + 4096), 10 * 3600 * 44100 * 2, 44100, 1))
      return
    case 'bigListWav':
      fs.writeFileSync(out, wavAfterList(200 * 1024, fs.readFileSync(fixture('wav')).subarray(44), fs.readFileSync(fixture('wav')).length - 44))
      return
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
  if (name === 'speech' || name === 'longWav' || name === 'bigListWav' || name === 'bigListForged' || name.startsWith('streamed')) {
    return name === 'streamedLongFlac' ? '.flac' : '.wav'
  }
  if (name === 'videoOnly') return '.mp4'
  return '.bin'
}

/**
 * Real-world shapes of the allowed formats, as people's tools write them: codecs, bit
 * depths, rates, layouts, cover art, and streamed output (`-` is a pipe, where the writer
 * cannot go back to fill in the length). Each is 1.5 s (the Opus, AAC, MP3 and WMA
 * encoders pad by a few ms), made on first use like the fixtures above.
 */
export interface AudioShape {
  label: string
  /** The name it is uploaded under (its extension picks the allowed format). */
  name: string
  sampleRate: number
  channels: number
  codec: string
}

const SHAPE_SECONDS = 1.5
const SHAPE_TONE = ['synth', String(SHAPE_SECONDS), 'sine', '440']

// sox and ffmpeg both decide about the length on the writing side; `| cat` makes stdout a
// real pipe, as it is under a shell pipeline or an HTTP client streaming the output.
const piped = (binary: string, args: string[], out: string) => { pipedTo(out, binary, args) }

const SHAPE_MAKERS: Record<string, (out: string) => void> = {
  'wav 16-bit (sox)': (out) => run('sox', ['-n', '-r', '44100', '-c', '2', '-b', '16', out, ...SHAPE_TONE]),
  'wav 24-bit': (out) => run('sox', ['-n', '-r', '44100', '-c', '2', '-b', '24', out, ...SHAPE_TONE]),
  'wav 32-bit float': (out) => ffmpeg('-i', shape('wav 16-bit (sox)'), '-c:a', 'pcm_f32le', out),
  'wav μ-law 8 kHz mono': (out) => ffmpeg('-i', shape('wav 16-bit (sox)'), '-ar', '8000', '-ac', '1', '-c:a', 'pcm_mulaw', out),
  'wav IMA ADPCM': (out) => ffmpeg('-i', shape('wav 16-bit (sox)'), '-c:a', 'adpcm_ima_wav', out),
  'wav Microsoft ADPCM': (out) => ffmpeg('-i', shape('wav 16-bit (sox)'), '-c:a', 'adpcm_ms', out),
  'wav 96 kHz 24-bit': (out) => run('sox', ['-n', '-r', '96000', '-c', '2', '-b', '24', out, ...SHAPE_TONE]),
  'wav 6 channels (5.1)': (out) => run('sox', ['-n', '-r', '48000', '-c', '6', '-b', '16', out, ...SHAPE_TONE]),
  'mp3 (LAME)': (out) => ffmpeg('-i', shape('wav 16-bit (sox)'), '-c:a', 'libmp3lame', '-b:a', '128k', out),
  'mp3 with ID3 cover art': (out) => ffmpeg('-i', shape('wav 16-bit (sox)'), '-i', cover(), '-map', '0:a', '-map', '1:v', '-c:a', 'libmp3lame',
    '-c:v', 'copy', '-id3v2_version', '3', '-metadata:s:v', 'comment=Cover (front)', out),
  'flac': (out) => ffmpeg('-i', shape('wav 16-bit (sox)'), '-c:a', 'flac', out),
  'flac with cover art': (out) => ffmpeg('-i', shape('wav 16-bit (sox)'), '-i', cover(), '-map', '0:a', '-map', '1:v', '-c:a', 'flac',
    '-c:v', 'copy', '-disposition:v', 'attached_pic', out),
  'aac in ADTS': (out) => ffmpeg('-i', shape('wav 16-bit (sox)'), '-c:a', 'aac', '-f', 'adts', out),
  'm4a AAC': (out) => ffmpeg('-i', shape('wav 16-bit (sox)'), '-c:a', 'aac', out),
  'm4a ALAC': (out) => ffmpeg('-i', shape('wav 16-bit (sox)'), '-c:a', 'alac', out),
  'm4a with cover art': (out) => ffmpeg('-i', shape('wav 16-bit (sox)'), '-i', cover(), '-map', '0:a', '-map', '1:v', '-c:a', 'aac',
    '-c:v', 'copy', '-disposition:v', 'attached_pic', out),
  'Vorbis in Ogg': (out) => ffmpeg('-i', shape('wav 16-bit (sox)'), '-c:a', 'libvorbis', out),
  'Opus in Ogg': (out) => ffmpeg('-i', shape('wav 16-bit (sox)'), '-c:a', 'libopus', '-f', 'ogg', out),
  'FLAC in Ogg': (out) => ffmpeg('-i', shape('wav 16-bit (sox)'), '-c:a', 'flac', '-f', 'ogg', out),
  'wma (WMA v2)': (out) => ffmpeg('-i', shape('wav 16-bit (sox)'), '-c:a', 'wmav2', out),
  'wav from ffmpeg to a pipe': (out) => piped('ffmpeg', ['-nostdin', '-loglevel', 'error', '-i', shape('wav 16-bit (sox)'), '-f', 'wav', '-'], out),
  'flac from ffmpeg to a pipe': (out) => piped('ffmpeg', ['-nostdin', '-loglevel', 'error', '-i', shape('wav 16-bit (sox)'), '-f', 'flac', '-'], out),
  'wav from sox to a pipe': (out) => piped('sox', [shape('wav 16-bit (sox)'), '-t', 'wav', '-'], out),
  'flac from sox to a pipe': (out) => piped('sox', [shape('wav 16-bit (sox)'), '-t', 'flac', '-'], out),
  'wav IMA ADPCM from ffmpeg to a pipe': (out) => piped('ffmpeg', ['-nostdin', '-loglevel', 'error', '-i', shape('wav 16-bit (sox)'), '-c:a', 'adpcm_ima_wav', '-f', 'wav', '-'], out),
  // sox reading a pipe does not know the length either: it writes 0x7ffff000 as the size.
  'wav from sox, pipe to pipe': (out) => piped('sh', ['-c', `sox '${shape('wav 16-bit (sox)')}' -t raw - | sox -t raw -r 44100 -c 2 -b 16 -e signed - -t wav -`], out),
  'flac from sox, pipe to pipe': (out) => piped('sh', ['-c', `sox '${shape('wav 16-bit (sox)')}' -t raw - | sox -t raw -r 44100 -c 2 -b 16 -e signed - -t flac -`], out)
}

const stereo = (label: string, name: string, codec: string, sampleRate = 44100): AudioShape => ({ label, name, sampleRate, channels: 2, codec })
export const SHAPES: readonly AudioShape[] = [
  stereo('wav 16-bit (sox)', 'tone.wav', 'pcm_s16le'),
  stereo('wav 24-bit', 'tone.wav', 'pcm_s24le'),
  stereo('wav 32-bit float', 'tone.wav', 'pcm_f32le'),
  { label: 'wav μ-law 8 kHz mono', name: 'phone.wav', sampleRate: 8000, channels: 1, codec: 'pcm_mulaw' },
  stereo('wav IMA ADPCM', 'tone.wav', 'adpcm_ima_wav'),
  stereo('wav Microsoft ADPCM', 'tone.wav', 'adpcm_ms'),
  stereo('wav 96 kHz 24-bit', 'studio.wav', 'pcm_s24le', 96000),
  { label: 'wav 6 channels (5.1)', name: 'surround.wav', sampleRate: 48000, channels: 6, codec: 'pcm_s16le' },
  stereo('mp3 (LAME)', 'tone.mp3', 'mp3'),
  stereo('mp3 with ID3 cover art', 'album.mp3', 'mp3'),
  stereo('flac', 'tone.flac', 'flac'),
  stereo('flac with cover art', 'album.flac', 'flac'),
  stereo('aac in ADTS', 'tone.aac', 'aac'),
  stereo('m4a AAC', 'tone.m4a', 'aac'),
  stereo('m4a ALAC', 'lossless.m4a', 'alac'),
  stereo('m4a with cover art', 'album.m4a', 'aac'),
  stereo('Vorbis in Ogg', 'tone.ogg', 'vorbis'),
  stereo('Opus in Ogg', 'voice.ogg', 'opus', 48000),
  stereo('FLAC in Ogg', 'lossless.ogg', 'flac'),
  stereo('wma (WMA v2)', 'tone.wma', 'wmav2'),
  stereo('wav from ffmpeg to a pipe', 'piped.wav', 'pcm_s16le'),
  stereo('flac from ffmpeg to a pipe', 'piped.flac', 'flac'),
  stereo('wav from sox to a pipe', 'piped.wav', 'pcm_s16le'),
  stereo('flac from sox to a pipe', 'piped.flac', 'flac'),
  stereo('wav IMA ADPCM from ffmpeg to a pipe', 'piped.wav', 'adpcm_ima_wav'),
  stereo('wav from sox, pipe to pipe', 'streamed.wav', 'pcm_s16le'),
  stereo('flac from sox, pipe to pipe', 'streamed.flac', 'flac')
]
export const SHAPE_DURATION_SEC = SHAPE_SECONDS

function cover (): string {
  const cached = cache.get('shape:cover')
  if (cached) return cached
  const file = path.join(fixtureDir(), 'cover.jpg')
  ffmpeg('-f', 'lavfi', '-i', 'color=c=0x336699:s=64x64', '-frames:v', '1', file)
  cache.set('shape:cover', file)
  return file
}

/** Path of a generated shape (by its label); generated on first use, then cached. */
export function shape (label: string): string {
  const key = `shape:${label}`
  const cached = cache.get(key)
  if (cached) return cached
  const make = SHAPE_MAKERS[label]
  const spec = SHAPES.find((s) => s.label === label)
  if (!make || !spec) throw new Error(`no audio shape "${label}"`)
  const file = path.join(fixtureDir(), `shape-${SHAPES.indexOf(spec)}${path.extname(spec.name)}`)
  make(file)
  cache.set(key, file)
  return file
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
