import Type from 'typebox'
import { PublicUserSchema } from '../../http/schemas.ts'

export const PasswordBody = Type.Object({
  currentPassword: Type.String({ minLength: 1, maxLength: 1024 }),
  newPassword: Type.String({ minLength: 1, maxLength: 1024 })
}, { additionalProperties: false })

// Without a body Fastify validates null; it is admitted so that the refusal can say what to send.
export const EraseBody = Type.Object({
  password: Type.String({ minLength: 1, maxLength: 1024, description: 'Your current password: erasure cannot be undone' })
}, { additionalProperties: false })

export const EraseBodyOrNone = Type.Union([EraseBody, Type.Null()])

export const MeReply = Type.Object({ user: PublicUserSchema, scopes: Type.Array(Type.String()), authenticatedBy: Type.String() })

export const PasswordChangeReply = Type.Object({ revokedSessions: Type.Integer() })
