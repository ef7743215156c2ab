// The mutation core of bench/fuzz: pure functions from (valid file, seed) to a damaged copy,
// deterministic so that any file the bench reports can be made again from its seed alone.
import { uniformInt } from 'pure-rand/distribution/uniformInt'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'

export interface Rng {
  /** Integer in [from, to]. */
  int: (from: number, to: number) => number
  pick: <T>(items: readonly T[]) => T
}

export function rngFor (seed: number): Rng {
  const generator = xoroshiro128plus(seed | 0)
  return {
    int: (from, to) => uniformInt(generator, from, to),
    pick: (items) => items[uniformInt(generator, 0, items.length - 1)]!
  }
}

export const MUTATIONS = ['flip', 'truncate', 'sizeField', 'audioField', 'chunkId', 'magic', 'insert', 'duplicate', 'zero'] as const
export type Mutation = typeof MUTATIONS[number]

/**
 * Tags that begin a chunk, box, page or header in the allowed formats: RIFF/WAVE, FLAC,
 * MP4 boxes, Ogg pages and codec headers, ID3, ASF's header object GUID (first 4 bytes).
 */
export const MARKERS: readonly string[] = ['RIFF', 'WAVE', 'fmt ', 'data', 'LIST', 'fact', 'fLaC', 'ftyp', 'moov', 'mdat', 'trak', 'mdia', 'minf',
  'stbl', 'stsd', 'stsz', 'stco', 'stts', 'stsc', 'mvhd', 'mdhd', 'mp4a', 'esds', 'OggS', 'OpusHead', 'OpusTags', 'vorbis', 'ID3', 'Xing', 'Info', 'LAME',
  '\u0030\u0026\u00b2\u0075']

// Values that break parsers most often: zero, one, the signed and unsigned edges, a power of two.
const EXTREMES = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000]

/** Every offset where `tag` occurs in `bytes` (latin1), in order. */
export function findAll (bytes: Uint8Array, tag: string): number[] {
  const needle = Buffer.from(tag, 'latin1')
  const haystack = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const found: number[] = []
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + 1)) found.push(at)
  return found
}

/** [offset, tag] for every marker occurrence, at most `limit` (a big mdat need not be scanned twice). */
function markers (bytes: Uint8Array, limit = 256): [number, string][] {
  const out: [number, string][] = []
  for (const tag of MARKERS) {
    for (const at of findAll(bytes, tag)) {
      out.push([at, tag])
      if (out.length >= limit) return out
    }
  }
  return out
}

// Most structure lives near the start; half the edits land in the first 4 KiB.
const offsetIn = (rng: Rng, size: number): number => rng.int(0, 1) === 0 ? rng.int(0, Math.min(size, 4096) - 1) : rng.int(0, size - 1)

function writeUInt (bytes: Buffer, at: number, width: 1 | 2 | 4, value: number, littleEndian: boolean) {
  if (at < 0 || at + width > bytes.length) return
  const v = width === 4 ? value >>> 0 : value & (width === 2 ? 0xffff : 0xff)
  if (width === 1) bytes.writeUInt8(v, at)
  else if (width === 2 && littleEndian) bytes.writeUInt16LE(v, at)
  else if (width === 2) bytes.writeUInt16BE(v, at)
  else if (littleEndian) bytes.writeUInt32LE(v, at)
  else bytes.writeUInt32BE(v, at)
}

const extremeOrRandom = (rng: Rng): number => rng.int(0, 2) === 0 ? rng.int(0, 0xffffffff) : rng.pick(EXTREMES)

/**
 * Where the sample rate and channel count sit relative to a header, per format:
 * [marker, offset from it, width, little-endian].
 */
const AUDIO_FIELDS: readonly [string, number, 1 | 2 | 4, boolean][] = [
  ['fmt ', 8, 2, true], // WAVE format tag
  ['fmt ', 10, 2, true], // channels
  ['fmt ', 12, 4, true], // sample rate
  ['fmt ', 16, 4, true], // byte rate
  ['fmt ', 20, 2, true], // block align
  ['fmt ', 22, 2, true], // bits per sample
  ['fLaC', 18, 4, false], // STREAMINFO: 20 bits of rate, 3 of channels, 5 of depth, 4 of total samples
  ['fLaC', 22, 4, false], // the rest of total samples
  ['fLaC', 10, 2, false], // min frame size
  ['OpusHead', 9, 1, true], // channels
  ['OpusHead', 12, 4, true], // input sample rate
  ['OpusHead', 18, 1, true], // channel mapping family
  ['vorbis', 10, 1, true], // channels (first header: \x01vorbis, version, channels, rate)
  ['vorbis', 11, 4, true], // sample rate
  ['vorbis', 27, 1, true], // block sizes
  ['mp4a', 20, 2, false], // sample entry channel count
  ['mp4a', 22, 2, false], // sample size
  ['mp4a', 28, 4, false], // sample rate 16.16
  ['mdhd', 16, 4, false], // time scale (version 0)
  ['mdhd', 20, 4, false], // duration
  ['mvhd', 16, 4, false],
  ['esds', 30, 4, false] // inside the decoder config: AudioSpecificConfig's neighbourhood
]

function flip (bytes: Buffer, rng: Rng): string {
  const count = rng.int(1, 16)
  for (let i = 0; i < count; i++) {
    const at = offsetIn(rng, bytes.length)
    bytes[at] = bytes[at]! ^ (1 << rng.int(0, 7))
  }
  return `${count} bit(s)`
}

/** MPEG audio frame headers (MP3 and ADTS) have their rate and channel bits in bytes 2–3. */
function frameSyncs (bytes: Buffer, limit = 64): number[] {
  const out: number[] = []
  for (let at = 0; at + 4 <= bytes.length && out.length < limit; at++) {
    if (bytes[at] === 0xff && ((bytes[at + 1]! & 0xe0) === 0xe0)) out.push(at)
  }
  return out
}

function applyOne (input: Buffer, mutation: Mutation, rng: Rng): { bytes: Buffer, note: string } {
  const bytes = Buffer.from(input)
  const size = bytes.length
  const found = markers(bytes)
  switch (mutation) {
    case 'flip':
      return { bytes, note: flip(bytes, rng) }
    case 'truncate': {
      // Cuts inside the header are the interesting ones: a third of the cuts keep under 512 bytes.
      const keep = rng.int(0, 2) === 0 ? rng.int(0, Math.min(size - 1, 512)) : rng.int(0, size - 1)
      return { bytes: bytes.subarray(0, keep), note: `to ${keep} bytes` }
    }
    case 'sizeField': {
      if (found.length === 0) return { bytes, note: flip(bytes, rng) }
      const [at, tag] = rng.pick(found)
      // RIFF sizes follow the id (little-endian); MP4 box sizes precede it (big-endian); Ogg
      // pages keep granule/serial/sequence after the version byte; others: either side.
      const riff = ['RIFF', 'fmt ', 'data', 'LIST', 'fact'].includes(tag)
      const mp4 = tag.length === 4 && !riff && tag !== 'OggS' && tag !== 'fLaC'
      const field = riff ? at + 4 : mp4 ? at - 4 : at + rng.pick([4, 6, 14, 18, 22, 26])
      const value = extremeOrRandom(rng)
      writeUInt(bytes, field, 4, value, riff)
      return { bytes, note: `${JSON.stringify(tag)}@${at} size=${value >>> 0}` }
    }
    case 'audioField': {
      const fields = AUDIO_FIELDS.flatMap(([tag, offset, width, le]) => findAll(bytes, tag).slice(0, 4).map((at) => [at + offset, width, le, tag] as const))
      const syncs = frameSyncs(bytes)
      if (fields.length === 0 && syncs.length === 0) return { bytes, note: flip(bytes, rng) }
      if (fields.length === 0 || (syncs.length > 0 && rng.int(0, 3) === 0)) {
        const at = rng.pick(syncs) + rng.int(2, 3)
        bytes[at] = rng.int(0, 255)
        return { bytes, note: `frame header byte @${at}` }
      }
      const [at, width, le, tag] = rng.pick(fields)
      const value = extremeOrRandom(rng)
      writeUInt(bytes, at, width, value, le)
      return { bytes, note: `${JSON.stringify(tag)} field @${at}=${value >>> 0}` }
    }
    case 'chunkId': {
      if (found.length === 0) return { bytes, note: flip(bytes, rng) }
      const [at, tag] = rng.pick(found)
      const other = rng.pick(MARKERS)
      const replacement = rng.int(0, 1) === 0 ? Buffer.from(other, 'latin1').subarray(0, tag.length) : Buffer.from(Array.from({ length: tag.length }, () => rng.int(0, 255)))
      replacement.copy(bytes, at)
      return { bytes, note: `${JSON.stringify(tag)}@${at} renamed` }
    }
    case 'magic': {
      const width = rng.int(1, Math.min(12, size))
      const other = Buffer.from(rng.pick(MARKERS), 'latin1')
      const replacement = rng.int(0, 1) === 0 ? other : Buffer.from(Array.from({ length: width }, () => rng.int(0, 255)))
      replacement.copy(bytes, 0, 0, Math.min(replacement.length, size))
      return { bytes, note: `first ${Math.min(replacement.length, size)} bytes` }
    }
    case 'insert': {
      const at = offsetIn(rng, size)
      const length = rng.pick([1, 3, 4, 8, 17, 512, 4096])
      const junk = Buffer.from(Array.from({ length }, () => rng.int(0, 255)))
      return { bytes: Buffer.concat([bytes.subarray(0, at), junk, bytes.subarray(at)]), note: `${length} bytes @${at}` }
    }
    case 'duplicate': {
      // A chunk (from one marker to the next, at most 64 KiB) copied in again right after itself.
      const starts = found.map(([at]) => at).sort((a, b) => a - b)
      const start = starts.length > 0 ? rng.pick(starts) : offsetIn(rng, size)
      const next = starts.find((at) => at > start) ?? size
      const end = Math.min(next, start + 65_536, size)
      const chunk = bytes.subarray(start, Math.max(end, start + 1))
      const times = rng.int(1, 3)
      return { bytes: Buffer.concat([bytes.subarray(0, end), ...Array.from({ length: times }, () => chunk), bytes.subarray(end)]), note: `${chunk.length} bytes @${start} ×${times}` }
    }
    case 'zero': {
      const at = offsetIn(rng, size)
      const length = Math.min(size - at, rng.pick([1, 4, 16, 256, 4096, 65_536]))
      bytes.fill(rng.int(0, 3) === 0 ? 0xff : 0, at, at + length)
      return { bytes, note: `${length} bytes @${at}` }
    }
  }
}

export interface Mutated {
  bytes: Buffer
  /** What was done, in order: e.g. `flip 3 bit(s); truncate to 77 bytes`. */
  description: string
  /** The first mutation applied (the bench groups outcomes by it). */
  kind: Mutation
}

/**
 * A damaged copy of `input`, the same for the same seed: one to three mutations (the first
 * chosen by `seed`, uniformly over MUTATIONS). `input` is not changed. An empty input stays empty.
 */
export function mutate (input: Uint8Array, seed: number, kind?: Mutation): Mutated {
  const rng = rngFor(seed)
  const first = kind ?? rng.pick(MUTATIONS)
  let bytes: Buffer = Buffer.from(input)
  const notes: string[] = []
  const rounds = rng.int(0, 3) === 0 ? rng.int(2, 3) : 1
  for (let i = 0; i < rounds && bytes.length > 0; i++) {
    const mutation = i === 0 ? first : rng.pick(MUTATIONS)
    const result = applyOne(bytes, mutation, rng)
    // An edit can write what was there (a field set to its own value, flips that cancel):
    // then one byte is inverted, so that every output differs from its input.
    if (result.bytes.equals(bytes)) {
      const at = offsetIn(rng, bytes.length)
      result.bytes[at] = result.bytes[at]! ^ 0xff
      result.note += ` (no change: byte @${at} inverted)`
    }
    bytes = result.bytes
    notes.push(`${mutation} ${result.note}`)
  }
  return { bytes, description: notes.join('; '), kind: first }
}
