import Type from 'typebox'


export const EngineSchema = Type.Object({
  name: Type.String(),
  available: Type.Boolean(),
  version: Type.Optional(Type.String()),
  package: Type.String({ description: 'The Debian package that provides it' }),
  languages: Type.Optional(Type.Array(Type.String())),
  voices: Type.Optional(Type.Array(Type.String())),
  voiceDetails: Type.Optional(Type.Array(Type.Object({
    id: Type.String({ description: 'What `voice` takes: festival:slt-hts, flite:rms, espeak:es' }),
    engine: Type.String(),
    language: Type.String({ description: 'The language tag it speaks, lowercased' }),
    description: Type.String(),
    openai: Type.Optional(Type.Array(Type.String(), { description: 'The OpenAI voice names that pick it' })),
    aliases: Type.Optional(Type.Array(Type.String(), { description: 'Other language tags it answers to' }))
  }))),
  detail: Type.Optional(Type.String())
})

export const EngineList = Type.Object({ engines: Type.Array(EngineSchema) })
