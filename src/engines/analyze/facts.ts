export interface AudioFacts {
  /** ffmpeg's demuxer name: `wav`, `mp3`, `ogg`, `mov,mp4,m4a,3gp,3g2,mj2`. */
  format: string
  codec: string
  /** As the container states it; the engine replaces it with the decoded length. */
  durationSec: number
  sampleRate: number
  channels: number
  /** Bits per second, null when the container does not say. */
  bitRate: number | null
  tags: Record<string, string>
}

// Tags are the uploader's text, shown back in the UI and stored with the result: bound them.
const MAX_TAGS = 32
const MAX_TAG_KEY = 64
const MAX_TAG_VALUE = 1024

const num = (value: unknown): number => {
  const n = typeof value === 'string' || typeof value === 'number' ? Number(value) : NaN
  return Number.isFinite(n) ? n : 0
}

function collectTags (sources: unknown[]): Record<string, string> {
  const tags: Record<string, string> = {}
  for (const source of sources) {
    if (!source || typeof source !== 'object') continue
    for (const [key, value] of Object.entries(source)) {
      if (typeof value !== 'string' || Object.keys(tags).length >= MAX_TAGS) continue
      const name = key.toLowerCase().slice(0, MAX_TAG_KEY)
      // Later sources win: the container's tags over the stream's.
      tags[name] = value.slice(0, MAX_TAG_VALUE)
    }
  }
  return tags
}

/**
 * Pure: ffprobe's JSON (`-show_format -show_streams`) to the facts of its first audio
 * stream, or undefined when there is none (or the JSON is not ffprobe's).
 */
export function parseFacts (json: string): AudioFacts | undefined {
  let data: { format?: Record<string, unknown>, streams?: Record<string, unknown>[] }
  try {
    data = JSON.parse(json) as typeof data
  } catch {
    return undefined
  }
  const format = data.format ?? {}
  const stream = (data.streams ?? []).find((s) => s.codec_type === 'audio')
  if (!stream) return undefined
  const bitRate = num(format.bit_rate) || num(stream.bit_rate)
  return {
    format: String(format.format_name ?? ''),
    codec: String(stream.codec_name ?? ''),
    durationSec: num(format.duration) || num(stream.duration),
    sampleRate: num(stream.sample_rate),
    channels: num(stream.channels),
    bitRate: bitRate > 0 ? bitRate : null,
    tags: collectTags([stream.tags, format.tags])
  }
}
