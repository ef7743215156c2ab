/** One language voice of espeak-ng, as `espeak-ng --voices` lists it. */
export interface EspeakLanguage {
  /** espeak-ng's language tag, lowercased: `en-us`, `es-419`, `cmn`. It is also what `-v` takes. */
  language: string
  /** Its name in the list, `Spanish (Latin America)`. */
  name: string
  /** Other tags it answers to (`fr` for `fr-fr`), from the last column. */
  aliases: string[]
}

// A tag as espeak-ng writes them; anything else in the list is not passed to `-v`.
const TAG = /^[a-z]{2,3}(?:-[a-z0-9]{1,8}){0,4}$/

/**
 * Pure: the table `espeak-ng --voices` prints (`Pty Language Age/Gender VoiceName File Other
 * Languages`), one voice per language tag (the first listed wins). Names carry no spaces in
 * the table (`English_(America)`), so the columns split on white space.
 */
export function parseEspeakVoices (listing: string): EspeakLanguage[] {
  const byTag = new Map<string, EspeakLanguage>()
  for (const line of listing.split('\n').slice(1)) {
    const [, tag, , name, , ...rest] = line.trim().split(/\s+/)
    const language = tag?.toLowerCase()
    if (!language || !name || !TAG.test(language) || byTag.has(language)) continue
    const aliases = rest.join(' ').split(')').map((part) => part.replace('(', '').trim().split(' ')[0]?.toLowerCase() ?? '').filter((alias) => TAG.test(alias))
    byTag.set(language, { language, name: name.replaceAll('_', ' '), aliases })
  }
  return [...byTag.values()]
}
