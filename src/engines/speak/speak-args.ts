/**
 * Pure command builders of the synthesisers and of ffmpeg. The client's text never appears in
 * an argument: it is in a file of the work directory, named by Tympan. festival evaluates
 * Scheme, so its expressions here are constants, and the one number in them (the speed) is
 * checked and formatted here, never passed through.
 */
import type { SpeechEngineName } from './voices.ts'

export const MIN_SPEED = 0.25
export const MAX_SPEED = 4
/** Every voice is delivered at this rate, mono, 16-bit: OpenAI's `pcm` is 24 kHz s16le mono. */
export const OUTPUT_RATE = 24_000

// espeak-ng's default rate and the slowest it goes (it clamps below 80 words per minute).
const ESPEAK_WPM = 175
const ESPEAK_MIN_WPM = 80

export function checkSpeed (speed: number): number {
  if (!Number.isFinite(speed) || speed < MIN_SPEED || speed > MAX_SPEED) throw new RangeError(`speed must be a number from ${MIN_SPEED} to ${MAX_SPEED}`)
  return speed
}

/** A number festival's reader takes as a number and nothing else: digits, one point. */
export function schemeNumber (value: number): string {
  return checkSpeed(value).toFixed(4)
}

export interface SynthCommand {
  binary: 'text2wave' | 'flite' | 'espeak-ng'
  args: string[]
  /** The speed change still to apply afterwards (ffmpeg atempo), 1 when the engine did it all. */
  tempo: number
  pkg: string
}

/** The speed change an engine leaves to ffmpeg's atempo: espeak-ng goes no slower than 80 words a minute. */
export function residualTempo (engine: SpeechEngineName, speed: number): number {
  if (engine !== 'espeak-ng') return 1
  const wpm = Math.max(ESPEAK_MIN_WPM, Math.round(ESPEAK_WPM * speed))
  return (ESPEAK_WPM * speed) / wpm
}

/**
 * The synthesiser's command for one chunk: `textFile` holds the text, `outFile` receives a WAV.
 * Speed is each engine's own (measured in bench/speech: it keeps the words more intelligible
 * than stretching the audio afterwards, and it costs nothing).
 */
export function synthCommand (engine: SpeechEngineName, model: string, speed: number, textFile: string, outFile: string): SynthCommand {
  checkSpeed(speed)
  if (!textFile.startsWith('/') || !outFile.startsWith('/')) throw new Error('synthCommand takes absolute paths')
  switch (engine) {
    case 'festival':
      // `-mode fundamental`: plain text. Without it text2wave picks a mode from the file name
      // (`.sable`, `.ogi`, `.email` anywhere in the path) and would read markup. The HTS
      // engine ignores Duration_Stretch; its own `-r` is the speed.
      if (!/^[a-z][a-z0-9_]*$/.test(model)) throw new Error(`not a festival voice name: ${model}`)
      return {
        binary: 'text2wave',
        args: ['-mode', 'fundamental', '-eval', `(voice_${model})`,
          ...(speed === 1 ? [] : ['-eval', `(set! hts_engine_params (cons (list "-r" ${schemeNumber(speed)}) hts_engine_params))`]),
          '-o', outFile, textFile],
        tempo: 1,
        pkg: 'festival'
      }
    case 'flite':
      if (!/^[a-z][a-z0-9_]*$/.test(model)) throw new Error(`not a flite voice name: ${model}`)
      return {
        binary: 'flite',
        args: ['-voice', model, ...(speed === 1 ? [] : ['--setf', `duration_stretch=${(1 / speed).toFixed(4)}`]), '-f', textFile, '-o', outFile],
        tempo: 1,
        pkg: 'flite'
      }
    case 'espeak-ng': {
      // No `-m`: markup stays text, `<speak>` is read out as words. `-b 1`: the file is UTF-8.
      if (!/^[a-z][a-z0-9-]*(\+[a-z0-9]+)?$/.test(model)) throw new Error(`not an espeak-ng voice: ${model}`)
      const wpm = Math.max(ESPEAK_MIN_WPM, Math.round(ESPEAK_WPM * speed))
      return {
        binary: 'espeak-ng',
        args: ['-v', model, '-s', String(wpm), '-b', '1', '-f', textFile, '-w', outFile],
        tempo: residualTempo(engine, speed),
        pkg: 'espeak-ng'
      }
    }
  }
}

/** ffmpeg's atempo takes 0.5–2 per stage in older builds: a chain of stages whose product is `tempo`. */
export function atempoChain (tempo: number): string[] {
  const stages: string[] = []
  let rest = tempo
  while (rest > 2) { stages.push('atempo=2'); rest /= 2 }
  while (rest < 0.5) { stages.push('atempo=0.5'); rest /= 0.5 }
  if (Math.abs(rest - 1) > 1e-6) stages.push(`atempo=${rest.toFixed(6)}`)
  return stages
}

/**
 * ffmpeg joining the chunks' WAVs (the concat list names them, in order) into one mono
 * 16-bit WAV at OUTPUT_RATE, with the voice's pitch shift and any speed the engine left over.
 * `-fflags +bitexact` and no metadata: a plain 44-byte header, the same bytes every time.
 */
export function joinArgs (options: { list: string, pitch: number, tempo: number, out: string }): string[] {
  const filters = [
    ...(options.pitch === 0 ? [] : [`rubberband=pitch=${Math.pow(2, options.pitch / 12).toFixed(6)}`]),
    ...atempoChain(options.tempo),
    `aresample=${OUTPUT_RATE}`
  ]
  return ['-nostdin', '-hide_banner', '-v', 'error', '-f', 'concat', '-i', options.list,
    '-af', filters.join(','), '-ac', '1', '-c:a', 'pcm_s16le', '-map_metadata', '-1', '-fflags', '+bitexact', '-f', 'wav', '-y', options.out]
}

/** The concat demuxer's list: names relative to the list's own directory, which ffmpeg resolves. */
export function concatList (names: string[]): string {
  return names.map((name) => {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) throw new Error(`not a chunk file name: ${name}`)
    return `file '${name}'\n`
  }).join('')
}

export const SPEECH_FORMATS = ['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm'] as const
export type SpeechFormat = typeof SPEECH_FORMATS[number]

/** Each format's content type (as OpenAI answers it), file extension and ffmpeg encoder. */
export const FORMAT_INFO: Record<SpeechFormat, { contentType: string, ext: string, args: string[] }> = {
  mp3: { contentType: 'audio/mpeg', ext: 'mp3', args: ['-c:a', 'libmp3lame', '-b:a', '64k', '-f', 'mp3'] },
  // Ogg Opus, as OpenAI sends it; 24 kHz is one of Opus's own rates.
  opus: { contentType: 'audio/opus', ext: 'opus', args: ['-c:a', 'libopus', '-b:a', '32k', '-f', 'ogg'] },
  // ADTS: a bare AAC stream that players read without a container.
  aac: { contentType: 'audio/aac', ext: 'aac', args: ['-c:a', 'aac', '-b:a', '64k', '-f', 'adts'] },
  flac: { contentType: 'audio/flac', ext: 'flac', args: ['-c:a', 'flac', '-f', 'flac'] },
  wav: { contentType: 'audio/wav', ext: 'wav', args: ['-c:a', 'pcm_s16le', '-f', 'wav'] },
  pcm: { contentType: 'audio/pcm', ext: 'pcm', args: ['-c:a', 'pcm_s16le', '-f', 's16le'] }
}

/** ffmpeg encoding the joined WAV into `format`. */
export function encodeArgs (input: string, format: SpeechFormat, out: string): string[] {
  return ['-nostdin', '-hide_banner', '-v', 'error', '-i', input, '-ac', '1', '-ar', String(OUTPUT_RATE),
    ...FORMAT_INFO[format].args, '-map_metadata', '-1', '-fflags', '+bitexact', '-y', out]
}

// C0 controls but tab and line breaks, DEL, and the C1 block: nothing a voice can say.
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g
const TYPOGRAPHY: Record<string, string> = {
  '‘': '\'', '’': '\'', '‚': '\'', '′': '\'', '“': '"', '”': '"', '„': '"', '″': '"', '«': '"', '»': '"',
  '–': ' - ', '—': ' - ', '−': '-', '…': '...', '\u00a0': ' ', '\u2009': ' ', '\u202f': ' '
}

/**
 * The text as the engine should read it. festival and flite read bytes, not UTF-8: a curly
 * apostrophe became three spelled-out junk characters, so their text is folded to ASCII
 * (typography to its plain form, accents dropped, anything else a space). espeak-ng reads
 * UTF-8 but takes `[[…]]` as phoneme input even without `-m`; splitting the brackets keeps it
 * text.
 */
export function prepareText (engine: SpeechEngineName, text: string): string {
  const clean = text.replace(CONTROLS, ' ')
  if (engine === 'espeak-ng') return clean.replaceAll('[[', '[ [')
  let out = ''
  for (const c of clean.normalize('NFKD')) {
    const code = c.codePointAt(0)!
    if (code < 0x80) out += c
    else if (code >= 0x300 && code < 0x370) continue
    else out += TYPOGRAPHY[c] ?? ' '
  }
  return out
}

/** Whether a chunk has anything to say: festival fails on text without a letter or digit. */
export function speakable (text: string): boolean {
  return /[\p{L}\p{N}]/u.test(text)
}
