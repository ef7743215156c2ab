import Type from 'typebox'
import { Cursor, DateTime, Limit, PublicUserSchema, RoleSchema, TierSchema, Uuid } from '../../http/schemas.ts'

export const CreateUserBody = Type.Object({
  email: Type.String({ minLength: 3, maxLength: 254 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
  role: RoleSchema,
  tier: Type.Optional(TierSchema)
}, { additionalProperties: false })

export const PatchUserBody = Type.Object({
  role: Type.Optional(RoleSchema),
  tier: Type.Optional(TierSchema),
  disabled: Type.Optional(Type.Boolean()),
  password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 }))
}, { additionalProperties: false, minProperties: 1 })

export const AuditItem = Type.Object({
  id: Type.Integer(),
  at: DateTime,
  requestId: Type.Union([Type.String(), Type.Null()]),
  actorUserId: Type.Union([Type.String(), Type.Null()]),
  actorKeyId: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  method: Type.Union([Type.String(), Type.Null()]),
  route: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  status: Type.Union([Type.Integer(), Type.Null()]),
  detail: Type.Record(Type.String(), Type.Unknown())
})

export const AuditQuery = Type.Object({
  actor: Type.Optional(Uuid),
  action: Type.Optional(Type.String({ maxLength: 100, pattern: '^[a-z_.]+(\\.\\*)?$' })),
  from: Type.Optional(DateTime),
  to: Type.Optional(DateTime),
  cursor: Type.Optional(Type.Integer({ minimum: 1 })),
  limit: Type.Optional(Limit)
}, { additionalProperties: false })

export const ListUsersQuery = Type.Object({ limit: Type.Optional(Limit), cursor: Type.Optional(Cursor), role: Type.Optional(RoleSchema), tier: Type.Optional(TierSchema) }, { additionalProperties: false })

export const UserPage = Type.Object({ items: Type.Array(PublicUserSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) })

export const AuditPage = Type.Object({ items: Type.Array(AuditItem), nextCursor: Type.Union([Type.Integer(), Type.Null()]) })
