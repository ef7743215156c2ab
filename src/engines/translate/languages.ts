/**
 * Language codes for translation: ISO 639-1 where the language has one, else ISO 639-3.
 *
 * An explicit table, not a package: the routes only ever reach the languages of Apertium's
 * pairs, and every code a client may send has to be named here on purpose (a code is data
 * that reaches a mode name). The npm registry has a well-kept complete table (`iso-639-3`,
 * about 8000 entries); it would replace this one if translation ever spoke beyond Apertium.
 * Each row: the canonical code, then every other code that means it (ISO 639-3 and the
 * ISO 639-2/B bibliographic code where it differs, or a retired 639-1 code), then the
 * English name. The rows cover the languages of Apertium's released pairs and the widely
 * spoken languages a client is likely to ask for.
 */
const TABLE: readonly (readonly [code: string, aliases: readonly string[], name: string])[] = [
  ['af', ['afr'], 'Afrikaans'],
  ['an', ['arg'], 'Aragonese'],
  ['ar', ['ara'], 'Arabic'],
  ['ast', [], 'Asturian'],
  ['be', ['bel'], 'Belarusian'],
  ['bg', ['bul'], 'Bulgarian'],
  ['br', ['bre'], 'Breton'],
  ['ca', ['cat'], 'Catalan'],
  ['crh', [], 'Crimean Tatar'],
  ['cs', ['ces', 'cze'], 'Czech'],
  ['cy', ['cym', 'wel'], 'Welsh'],
  ['da', ['dan'], 'Danish'],
  ['de', ['deu', 'ger'], 'German'],
  ['el', ['ell', 'gre'], 'Greek'],
  ['en', ['eng'], 'English'],
  ['eo', ['epo'], 'Esperanto'],
  ['es', ['spa'], 'Spanish'],
  ['et', ['est'], 'Estonian'],
  ['eu', ['eus', 'baq'], 'Basque'],
  ['fa', ['fas', 'per'], 'Persian'],
  ['fi', ['fin'], 'Finnish'],
  ['fo', ['fao'], 'Faroese'],
  ['fr', ['fra', 'fre'], 'French'],
  ['ga', ['gle'], 'Irish'],
  ['gd', ['gla'], 'Scottish Gaelic'],
  ['gl', ['glg'], 'Galician'],
  ['hbs', ['sh'], 'Serbo-Croatian'],
  ['he', ['heb'], 'Hebrew'],
  ['hi', ['hin'], 'Hindi'],
  ['hr', ['hrv'], 'Croatian'],
  ['hu', ['hun'], 'Hungarian'],
  ['hy', ['hye', 'arm'], 'Armenian'],
  ['id', ['ind'], 'Indonesian'],
  ['is', ['isl', 'ice'], 'Icelandic'],
  ['it', ['ita'], 'Italian'],
  ['ja', ['jpn'], 'Japanese'],
  ['ka', ['kat', 'geo'], 'Georgian'],
  ['kk', ['kaz'], 'Kazakh'],
  ['ko', ['kor'], 'Korean'],
  ['ky', ['kir'], 'Kyrgyz'],
  ['lt', ['lit'], 'Lithuanian'],
  ['lv', ['lav'], 'Latvian'],
  ['mk', ['mkd', 'mac'], 'Macedonian'],
  ['ms', ['msa', 'may'], 'Malay'],
  ['mt', ['mlt'], 'Maltese'],
  ['nb', ['nob'], 'Norwegian Bokmål'],
  ['nl', ['nld', 'dut'], 'Dutch'],
  ['nn', ['nno'], 'Norwegian Nynorsk'],
  ['oc', ['oci'], 'Occitan'],
  ['pl', ['pol'], 'Polish'],
  ['pt', ['por'], 'Portuguese'],
  ['ro', ['ron', 'rum'], 'Romanian'],
  ['ru', ['rus'], 'Russian'],
  ['sc', ['srd'], 'Sardinian'],
  ['se', ['sme'], 'Northern Sami'],
  ['sk', ['slk', 'slo'], 'Slovak'],
  ['sl', ['slv'], 'Slovenian'],
  ['sq', ['sqi', 'alb'], 'Albanian'],
  ['sr', ['srp'], 'Serbian'],
  ['sv', ['swe'], 'Swedish'],
  ['szl', [], 'Silesian'],
  ['tr', ['tur'], 'Turkish'],
  ['tt', ['tat'], 'Tatar'],
  ['uk', ['ukr'], 'Ukrainian'],
  ['ur', ['urd'], 'Urdu'],
  ['uz', ['uzb'], 'Uzbek'],
  ['zh', ['zho', 'chi'], 'Chinese']
]

const CANONICAL = new Map<string, string>()
const NAMES = new Map<string, string>()
for (const [code, aliases, name] of TABLE) {
  for (const alias of [code, ...aliases]) CANONICAL.set(alias, code)
  NAMES.set(code, name)
}

// What the edge accepts as the shape of a code: ISO 639-1 and 639-3 are two and three
// letters; up to five leaves room for the codes the table names explicitly, nothing else.
const CODE_SHAPE = /^[a-z]{2,5}$/

/**
 * `eng`, `en`, ` en ` → `en`; `fre` and `fra` → `fr`; `ast` (no 639-1 code) → `ast`. Undefined
 * for anything the table does not name: upper case, a region (`en-US`), a name, `xx`.
 */
export function normaliseLanguage (code: string): string | undefined {
  const trimmed = code.trim()
  if (!CODE_SHAPE.test(trimmed)) return undefined
  return CANONICAL.get(trimmed)
}

/** The English name of a canonical code, or the code itself when the table does not know it. */
export function languageName (code: string): string {
  return NAMES.get(code) ?? code
}
