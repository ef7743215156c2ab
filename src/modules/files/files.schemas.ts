import Type from 'typebox'
import { Cursor, DateTime, Limit } from '../../http/schemas.ts'

export const FileSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  format: Type.String(),
  contentType: Type.String(),
  size: Type.Integer(),
  sha256: Type.String(),
  durationSec: Type.Number(),
  sampleRate: Type.Integer(),
  channels: Type.Integer(),
  codec: Type.String(),
  source: Type.String(),
  createdAt: DateTime,
  expiresAt: DateTime
})

export const FilePage = Type.Object({ items: Type.Array(FileSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) })

export const ListFilesQuery = Type.Object({
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Cursor),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Only files whose name contains this text (any case)' }))
}, { additionalProperties: false })

export const ImportBody = Type.Object({
  url: Type.String({ minLength: 1, maxLength: 2048, description: 'https URL of an audio file (or of a media page on a host listed in IMPORT_MEDIA_HOSTS)' })
}, { additionalProperties: false })
