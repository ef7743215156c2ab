import type { EspeakLanguage } from './espeak-voices.ts'

export type SpeechEngineName = 'festival' | 'flite' | 'espeak-ng'

/** A voice as clients see it (GET /api/v1/engines) and as the speech-translation code picks one. */
export interface Voice {
  /** Tympan's id: `festival:slt-hts`, `flite:rms`, `espeak:es`. */
  id: string
  engine: SpeechEngineName
  /** The language tag it speaks, lowercased: `en-us`, `es-419`. */
  language: string
  description: string
  /** The OpenAI voice names that choose it in its language. */
  openai?: string[]
  /** Other tags it answers to (espeak-ng's `fr` for `fr-fr`). */
  aliases?: string[]
}

/** How a voice is made: the engine's own voice and a pitch shift applied afterwards. */
export interface VoiceRecipe {
  id: string
  engine: SpeechEngineName
  language: string
  /** festival: the voice's name in `(voice_<name>)`; flite: `-voice`; espeak-ng: `-v` (with `+variant`). */
  model: string
  /** Semitones, applied by ffmpeg's rubberband filter; 0 for none. */
  pitch: number
}

interface NaturalVoice extends VoiceRecipe {
  description: string
}

/**
 * The English voices with natural prosody, best first by the word error rate pocketsphinx
 * makes on their reading of the Harvard sentences, list 1 (bench/speech; docs/speech.md).
 * The pitched variants make distinct voices of the same models; only variants that stayed
 * intelligible were kept (a lowered rms or a raised slt doubled the error rate).
 */
export const NATURAL_VOICES: readonly NaturalVoice[] = [
  { id: 'festival:slt-hts', engine: 'festival', language: 'en-us', model: 'cmu_us_slt_arctic_hts', pitch: 0, description: 'US English, female (festival, HTS statistical voice)' },
  { id: 'festival:slt-hts-low', engine: 'festival', language: 'en-us', model: 'cmu_us_slt_arctic_hts', pitch: -2, description: 'US English, female, 2 semitones lower (festival HTS)' },
  { id: 'festival:slt-hts-deep', engine: 'festival', language: 'en-us', model: 'cmu_us_slt_arctic_hts', pitch: -4, description: 'US English, low female, 4 semitones lower (festival HTS)' },
  { id: 'flite:rms', engine: 'flite', language: 'en-us', model: 'rms', pitch: 0, description: 'US English, male (flite)' },
  { id: 'flite:rms-high', engine: 'flite', language: 'en-us', model: 'rms', pitch: 2, description: 'US English, male, 2 semitones higher (flite)' },
  { id: 'flite:awb', engine: 'flite', language: 'en-gb-scotland', model: 'awb', pitch: 0, description: 'Scottish English, male (flite)' },
  { id: 'flite:awb-high', engine: 'flite', language: 'en-gb-scotland', model: 'awb', pitch: 2, description: 'Scottish English, male, 2 semitones higher (flite)' },
  { id: 'flite:slt', engine: 'flite', language: 'en-us', model: 'slt', pitch: 0, description: 'US English, female (flite)' },
  { id: 'flite:slt-low', engine: 'flite', language: 'en-us', model: 'slt', pitch: -3, description: 'US English, female, 3 semitones lower (flite)' },
  { id: 'flite:kal16', engine: 'flite', language: 'en-us', model: 'kal16', pitch: 0, description: 'US English, male, diphone (flite)' },
  { id: 'flite:kal16-high', engine: 'flite', language: 'en-us', model: 'kal16', pitch: 3, description: 'US English, male, diphone, 3 semitones higher (flite)' },
  { id: 'flite:kal', engine: 'flite', language: 'en-us', model: 'kal', pitch: 0, description: 'US English, male, 8 kHz diphone (flite)' }
]

/**
 * OpenAI's voice names: each picks its own natural English voice, and in another language
 * (or without any natural voice installed) espeak-ng's voice of that language with its own
 * variant, so no two names sound alike anywhere.
 */
export const OPENAI_VOICES: Readonly<Record<string, { english: string, variant: string }>> = {
  alloy: { english: 'festival:slt-hts', variant: 'm1' },
  ash: { english: 'flite:rms-high', variant: 'm2' },
  ballad: { english: 'flite:awb-high', variant: 'm3' },
  coral: { english: 'festival:slt-hts-low', variant: 'f1' },
  echo: { english: 'flite:rms', variant: 'm4' },
  fable: { english: 'flite:awb', variant: 'm5' },
  onyx: { english: 'flite:kal16', variant: 'm6' },
  nova: { english: 'flite:slt-low', variant: 'f2' },
  sage: { english: 'festival:slt-hts-deep', variant: 'f3' },
  shimmer: { english: 'flite:slt', variant: 'f4' },
  verse: { english: 'flite:kal16-high', variant: 'm7' }
}
export const OPENAI_VOICE_NAMES = Object.keys(OPENAI_VOICES)
const VARIANTS = new Set(Object.values(OPENAI_VOICES).map((v) => v.variant))

/** What is installed, as the synthesiser found it. */
export interface Installed {
  festivalVoices: string[]
  fliteVoices: string[]
  espeak: EspeakLanguage[]
  /** ffmpeg's rubberband filter, which the pitched voices need. */
  pitchShift: boolean
}

const primary = (tag: string) => tag.split('-')[0]!
const isEnglish = (tag: string) => primary(tag) === 'en'

/** Pure: the installed voices, natural ones first, each OpenAI name on the voice it picks in English. */
export function catalogue (installed: Installed): Voice[] {
  const natural = NATURAL_VOICES.filter((v) => (v.pitch === 0 || installed.pitchShift) &&
    (v.engine === 'festival' ? installed.festivalVoices : installed.fliteVoices).includes(v.model))
  const espeak: Voice[] = installed.espeak.map((e) => ({
    id: `espeak:${e.language}`, engine: 'espeak-ng', language: e.language, description: `${e.name} (espeak-ng)`, ...(e.aliases.length ? { aliases: e.aliases } : {})
  }))
  const voices: Voice[] = [...natural.map(({ id, engine, language, description }) => ({ id, engine, language, description })), ...espeak]
  // espeak-ng speaks a name with the name's own variant (resolveVoice), never as itself.
  const fallback = voices.find((v) => v.engine !== 'espeak-ng' && isEnglish(v.language))
  for (const [name, pick] of Object.entries(OPENAI_VOICES)) {
    const voice = voices.find((v) => v.id === pick.english) ?? fallback
    if (voice) voice.openai = [...(voice.openai ?? []), name]
  }
  return voices
}

/** A request no installed voice can speak; `field` names the request's field at fault. */
export class VoiceError extends Error {
  readonly field: 'voice' | 'language' | 'text' | 'speed'
  constructor (field: VoiceError['field'], message: string) {
    super(message)
    this.name = 'VoiceError'
    this.field = field
  }
}

function available (voices: Voice[]): string {
  const named = voices.filter((v) => v.engine !== 'espeak-ng').map((v) => v.id)
  const espeak = voices.filter((v) => v.engine === 'espeak-ng')
  const parts = [`the OpenAI names ${OPENAI_VOICE_NAMES.join(', ')}`]
  if (named.length) parts.push(named.join(', '))
  const examples = ['espeak:es', 'espeak:fr-fr', 'espeak:de'].filter((id) => espeak.some((v) => v.id === id))
  if (espeak.length) parts.push(`espeak:<language> for ${espeak.length} languages${examples.length ? ` such as ${examples.join(', ')}` : ''}`)
  return `${parts.join('; ')} (GET /api/v1/engines lists them all)`
}

/** The voice of `voices` for a language tag: the same tag, one it answers to, or the same language in another region. */
function forLanguage (voices: Voice[], tag: string): Voice | undefined {
  return voices.find((v) => v.language === tag) ??
    voices.find((v) => v.aliases?.includes(tag)) ??
    voices.find((v) => primary(v.language) === primary(tag))
}

/**
 * Pure: which voice speaks a request, as a Tympan id (an espeak-ng voice may carry an OpenAI
 * name's variant, `espeak:es+f2`). No voice means the language's best voice: for English the
 * first natural voice, for other languages espeak-ng's. Throws VoiceError naming what is
 * available.
 */
export function resolveVoice (voices: Voice[], request: { voice?: string | undefined, language?: string | undefined }): string {
  const language = request.language?.toLowerCase()
  const espeak = voices.filter((v) => v.engine === 'espeak-ng')
  const languageVoice = (tag: string) => {
    const found = isEnglish(tag)
      ? voices.find((v) => v.engine !== 'espeak-ng' && v.language === tag) ?? voices.find((v) => v.engine !== 'espeak-ng' && isEnglish(v.language)) ?? forLanguage(espeak, tag)
      : forLanguage(espeak, tag)
    if (!found) throw new VoiceError('language', `No voice speaks "${tag}"; installed languages: ${[...new Set(voices.map((v) => primary(v.language)))].join(', ') || 'none (install espeak-ng)'}`)
    return found
  }
  const name = request.voice
  if (name === undefined) return languageVoice(language ?? 'en').id
  if (Object.hasOwn(OPENAI_VOICES, name)) {
    const pick = OPENAI_VOICES[name]!
    const tag = language ?? 'en'
    if (isEnglish(tag)) {
      const english = voices.find((v) => v.id === pick.english) ?? voices.find((v) => v.openai?.includes(name))
      if (english) return english.id
    }
    const voice = languageVoice(tag)
    return voice.engine === 'espeak-ng' ? `${voice.id}+${pick.variant}` : voice.id
  }
  const [base, variant, extra] = name.split('+')
  const voice = voices.find((v) => v.id === base)
  const variantOk = variant === undefined || (voice?.engine === 'espeak-ng' && VARIANTS.has(variant) && extra === undefined)
  if (!voice || !variantOk) throw new VoiceError('voice', `Unknown voice "${name}"; available: ${available(voices)}`)
  if (language && primary(language) !== primary(voice.language)) {
    throw new VoiceError('language', `Voice ${voice.id} speaks ${voice.language}, not ${language}: leave out the language or pick one of its voices`)
  }
  return name
}

/** Pure: how to make the voice of a resolved id (see resolveVoice); undefined for an id not in the catalogue. */
export function recipeOf (id: string, voices: Voice[]): VoiceRecipe | undefined {
  const natural = NATURAL_VOICES.find((v) => v.id === id)
  if (natural) return voices.some((v) => v.id === id) ? { id, engine: natural.engine, language: natural.language, model: natural.model, pitch: natural.pitch } : undefined
  const [base, variant] = id.split('+')
  const voice = voices.find((v) => v.id === base && v.engine === 'espeak-ng')
  if (!voice || (variant !== undefined && !VARIANTS.has(variant))) return undefined
  return { id, engine: 'espeak-ng', language: voice.language, model: variant ? `${voice.language}+${variant}` : voice.language, pitch: 0 }
}
