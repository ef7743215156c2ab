import Type from 'typebox'

export const Uuid = Type.String({ format: 'uuid' })
export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false })
export const RoleSchema = Type.Union([Type.Literal('admin'), Type.Literal('member'), Type.Literal('viewer')])
export const TierSchema = Type.Union([Type.Literal('free'), Type.Literal('premium'), Type.Literal('enterprise')])
export const DateTime = Type.String({ format: 'date-time' })
export const NullableDateTime = Type.Union([DateTime, Type.Null()])
export const Limit = Type.Integer({ minimum: 1, maximum: 200, default: 50 })
export const Cursor = Type.String({ maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' })

export const PublicUserSchema = Type.Object({
  id: Uuid,
  email: Type.String(),
  role: RoleSchema,
  tier: TierSchema,
  disabled: Type.Boolean(),
  mustChangePassword: Type.Boolean({ description: 'The password is one-time: until it is changed (POST /api/v1/me/password) every other request is refused' }),
  createdAt: DateTime,
  updatedAt: DateTime
})

export const ProblemSchema = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  requestId: Type.String()
}, { additionalProperties: true })
