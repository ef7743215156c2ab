import type { ApiKey } from '../../db/schema.ts'
import { forbidden, notFound, unprocessable } from '../../http/problem.ts'
import type { Principal } from '../../access/permissions.ts'
import { scopesBeyondRole } from '../../access/permissions.ts'
import { formatKey, hashKeySecret, keyDisplayId, newKeyId, newKeySecret } from './api-key.ts'
import type { KeysRepository } from './keys.repository.ts'

export interface PublicKey {
  id: string
  prefix: string
  name: string
  scopes: string[]
  createdAt: string
  expiresAt: string | null
  lastUsedAt: string | null
  revokedAt: string | null
}

export function toPublicKey (key: ApiKey): PublicKey {
  return {
    id: key.id,
    prefix: keyDisplayId(key.id),
    name: key.name,
    scopes: key.scopes,
    createdAt: key.created_at.toISOString(),
    expiresAt: key.expires_at?.toISOString() ?? null,
    lastUsedAt: key.last_used_at?.toISOString() ?? null,
    revokedAt: key.revoked_at?.toISOString() ?? null
  }
}

export function keysService (keys: KeysRepository) {
  async function mustOwn (owner: Principal, id: string): Promise<ApiKey> {
    const key = await keys.findForUser(id, owner.userId)
    if (!key) throw notFound('API key')
    return key
  }

  return {
    async create (owner: Principal, input: { name: string, scopes: string[], expiresAt?: string }): Promise<{ key: ApiKey, secret: string }> {
      const beyond = scopesBeyondRole(owner.role, input.scopes)
      if (beyond.length > 0) throw forbidden(`Scopes exceed your role (${owner.role}): ${beyond.join(', ')}`)
      let expiresAt: Date | null = null
      if (input.expiresAt) {
        expiresAt = new Date(input.expiresAt)
        if (expiresAt.getTime() <= Date.now()) throw unprocessable('expiresAt must be in the future', { field: 'expiresAt' })
      }
      const id = newKeyId()
      const secret = newKeySecret()
      const key = await keys.insert({ id, userId: owner.userId, name: input.name.trim(), secretHash: hashKeySecret(secret), scopes: [...new Set(input.scopes)], expiresAt })
      return { key, secret: formatKey(id, secret) }
    },

    list: (owner: Principal) => keys.listForUser(owner.userId),

    async revoke (owner: Principal, id: string): Promise<ApiKey> {
      const key = await mustOwn(owner, id)
      await keys.revoke(key.id)
      return key
    },

    /** New secret under the same id, name and scopes; the old secret stops working at once. */
    async rotate (owner: Principal, id: string): Promise<{ key: ApiKey, secret: string }> {
      const existing = await mustOwn(owner, id)
      if (existing.revoked_at) throw unprocessable('A revoked key cannot be rotated; create a new one')
      const secret = newKeySecret()
      const key = await keys.replaceSecret(existing.id, hashKeySecret(secret))
      if (!key) throw notFound('API key')
      return { key, secret: formatKey(existing.id, secret) }
    }
  }
}

export type KeysService = ReturnType<typeof keysService>
