import Type from 'typebox'

const LanguageCode = (description: string) => Type.String({ minLength: 2, maxLength: 5, description: `${description}: an ISO 639-1 or 639-3 code (en, eng, fr, fra, fre); answered as ISO 639-1 where one exists` })

export const TranslateBody = Type.Object({
  source_lang: LanguageCode('The language of the text'),
  target_lang: LanguageCode('The language to translate into'),
  // The schema's cap bounds the body; the 5000 is counted after trimming, by the service.
  text: Type.String({ minLength: 1, maxLength: 10_000, description: '1 to 5000 characters after trimming, translated as plain text (markup, options, shell or Apertium syntax are only text)' })
}, { additionalProperties: false })

export const TranslateReplySchema = Type.Object({
  translation: Type.String(),
  source_lang: Type.String(),
  target_lang: Type.String(),
  engine: Type.Literal('apertium'),
  route: Type.Array(Type.String(), { description: 'Every language the text passed through, both ends included: ["fr", "es", "en"] pivots through Spanish' })
})

const PairSchema = Type.Object({ from: Type.String(), to: Type.String(), mode: Type.String({ description: 'Apertium\'s name for the pair' }) })
const RouteSchema = Type.Object({ from: Type.String(), to: Type.String(), via: Type.Array(Type.String(), { description: 'Pivot languages; empty for a direct pair' }) })

export const LanguagesReply = Type.Object({
  pairs: Type.Array(PairSchema, { description: 'The installed Apertium pairs (variants such as eng-cat_valencia are not listed)' }),
  routes: Type.Array(RouteSchema, { description: 'Every direction a translation can take, directly or through at most two pivots' })
})
