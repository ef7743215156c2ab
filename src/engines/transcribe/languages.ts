import { EngineError } from '../engine.ts'

/**
 * Whisper's languages and the names OpenAI's verbose_json reports them by (whisper's
 * tokenizer table: "myanmar", "nynorsk", "maori" differ from the CLDR names Intl would give).
 */
export const WHISPER_LANGUAGES: Readonly<Record<string, string>> = Object.freeze({
  en: 'english', zh: 'chinese', de: 'german', es: 'spanish', ru: 'russian', ko: 'korean', fr: 'french',
  ja: 'japanese', pt: 'portuguese', tr: 'turkish', pl: 'polish', ca: 'catalan', nl: 'dutch', ar: 'arabic',
  sv: 'swedish', it: 'italian', id: 'indonesian', hi: 'hindi', fi: 'finnish', vi: 'vietnamese', he: 'hebrew',
  uk: 'ukrainian', el: 'greek', ms: 'malay', cs: 'czech', ro: 'romanian', da: 'danish', hu: 'hungarian',
  ta: 'tamil', no: 'norwegian', th: 'thai', ur: 'urdu', hr: 'croatian', bg: 'bulgarian', lt: 'lithuanian',
  la: 'latin', mi: 'maori', ml: 'malayalam', cy: 'welsh', sk: 'slovak', te: 'telugu', fa: 'persian',
  lv: 'latvian', bn: 'bengali', sr: 'serbian', az: 'azerbaijani', sl: 'slovenian', kn: 'kannada',
  et: 'estonian', mk: 'macedonian', br: 'breton', eu: 'basque', is: 'icelandic', hy: 'armenian',
  ne: 'nepali', mn: 'mongolian', bs: 'bosnian', kk: 'kazakh', sq: 'albanian', sw: 'swahili', gl: 'galician',
  mr: 'marathi', pa: 'punjabi', si: 'sinhala', km: 'khmer', sn: 'shona', yo: 'yoruba', so: 'somali',
  af: 'afrikaans', oc: 'occitan', ka: 'georgian', be: 'belarusian', tg: 'tajik', sd: 'sindhi',
  gu: 'gujarati', am: 'amharic', yi: 'yiddish', lo: 'lao', uz: 'uzbek', fo: 'faroese', ht: 'haitian creole',
  ps: 'pashto', tk: 'turkmen', nn: 'nynorsk', mt: 'maltese', sa: 'sanskrit', lb: 'luxembourgish',
  my: 'myanmar', bo: 'tibetan', tl: 'tagalog', mg: 'malagasy', as: 'assamese', tt: 'tatar', haw: 'hawaiian',
  ln: 'lingala', ha: 'hausa', ba: 'bashkir', jw: 'javanese', su: 'sundanese', yue: 'cantonese'
})

export function languageName (code: string): string {
  return WHISPER_LANGUAGES[code] ?? code
}

/** `en`, `EN`, `en-US`, `en_us` → `en`; also accepts the name (`english`), as whisper does. */
export function normaliseLanguage (input: string): string {
  const lower = input.trim().toLowerCase()
  const byName = Object.entries(WHISPER_LANGUAGES).find(([, name]) => name === lower)
  return byName ? byName[0] : lower.split(/[-_]/)[0] ?? lower
}

/** The language to run in, or `invalid-input` naming what is installed. */
export function pickLanguage (requested: string | undefined, installed: string[]): string | undefined {
  if (requested === undefined || requested === '' || requested === 'auto') return undefined
  const code = normaliseLanguage(requested)
  if (!installed.includes(code)) {
    throw new EngineError('invalid-input', `language "${code}" is not installed; installed: ${installed.join(', ')}`)
  }
  return code
}
