import Type from 'typebox'
import { DateTime, PublicUserSchema } from '../../http/schemas.ts'

export const LoginBody = Type.Object({
  email: Type.String({ minLength: 1, maxLength: 320 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
  tokens: Type.Optional(Type.Boolean({ description: 'Return the tokens in the body (native clients) instead of setting cookies' }))
}, { additionalProperties: false })

export const SessionReply = Type.Object({
  user: PublicUserSchema,
  csrfToken: Type.Optional(Type.String()),
  accessToken: Type.Optional(Type.String()),
  refreshToken: Type.Optional(Type.String()),
  tokenType: Type.Optional(Type.Literal('Bearer')),
  expiresIn: Type.Integer({ description: 'Seconds until the access token expires' }),
  refreshExpiresAt: DateTime
})

// A browser sends no body at all (the token is in the cookie); Fastify validates a missing
// body as null, which Type.Optional does not admit, so null is allowed explicitly.
export const RefreshBody = Type.Object({
  refreshToken: Type.Optional(Type.String({ minLength: 1, maxLength: 200 }))
}, { additionalProperties: false })

export const SessionItem = Type.Object({
  id: Type.String(),
  userAgent: Type.String(),
  ip: Type.String(),
  createdAt: DateTime,
  lastActiveAt: DateTime,
  expiresAt: DateTime,
  current: Type.Boolean()
})

export const RefreshBodyOrNone = Type.Union([RefreshBody, Type.Null()])

export const SessionList = Type.Object({ items: Type.Array(SessionItem) })
