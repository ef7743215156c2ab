import Type from 'typebox'


export const EngineSchema = Type.Object({
  name: Type.String(),
  available: Type.Boolean(),
  version: Type.Optional(Type.String()),
  package: Type.String({ description: 'The Debian package that provides it' }),
  languages: Type.Optional(Type.Array(Type.String())),
  voices: Type.Optional(Type.Array(Type.String())),
  detail: Type.Optional(Type.String())
})

export const EngineList = Type.Object({ engines: Type.Array(EngineSchema) })
