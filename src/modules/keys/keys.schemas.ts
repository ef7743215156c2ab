import Type from 'typebox'
import { SCOPES } from '../../access/permissions.ts'
import { DateTime, NullableDateTime } from '../../http/schemas.ts'

export const KeyIdParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{12}$' }) }, { additionalProperties: false })

export const ScopeSchema = Type.Union(SCOPES.map((s) => Type.Literal(s)))

export const KeySchema = Type.Object({
  id: Type.String(),
  prefix: Type.String({ description: 'Non-secret display form of the key' }),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  createdAt: DateTime,
  expiresAt: NullableDateTime,
  lastUsedAt: NullableDateTime,
  revokedAt: NullableDateTime
})

export const KeyWithSecret = Type.Object({ ...KeySchema.properties, key: Type.String({ description: 'The secret key: shown this once, never again' }) })

export const CreateKeyBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100 }),
  scopes: Type.Array(ScopeSchema, { minItems: 1, maxItems: SCOPES.length, uniqueItems: true }),
  expiresAt: Type.Optional(DateTime)
}, { additionalProperties: false })

export const KeyList = Type.Object({ items: Type.Array(KeySchema) })
