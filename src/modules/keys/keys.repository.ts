import type { Kysely } from 'kysely'
import type { ApiKey, Database, OwnerColumns } from '../../db/schema.ts'

export interface KeyWithOwner extends ApiKey, OwnerColumns {}

/** `changed` runs after every write that can end a credential (see revocation-bus.ts). */
export function keysRepository (db: Kysely<Database>, changed: () => Promise<void> = async () => {}) {
  return {
    insert (key: { id: string, userId: string, name: string, secretHash: string, scopes: string[], expiresAt: Date | null }): Promise<ApiKey> {
      return db.insertInto('api_keys').values({
        id: key.id, user_id: key.userId, name: key.name, secret_hash: key.secretHash, scopes: key.scopes, expires_at: key.expiresAt
      }).returningAll().executeTakeFirstOrThrow()
    },
    findWithOwner (id: string): Promise<KeyWithOwner | undefined> {
      return db.selectFrom('api_keys').innerJoin('users', 'users.id', 'api_keys.user_id')
        .selectAll('api_keys').select(['users.email', 'users.role', 'users.tier', 'users.disabled', 'users.must_change_password', 'users.created_at as user_created_at', 'users.updated_at as user_updated_at'])
        .where('api_keys.id', '=', id).executeTakeFirst()
    },
    findForUser (id: string, userId: string): Promise<ApiKey | undefined> {
      return db.selectFrom('api_keys').selectAll().where('id', '=', id).where('user_id', '=', userId).executeTakeFirst()
    },
    listForUser (userId: string): Promise<ApiKey[]> {
      return db.selectFrom('api_keys').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').execute()
    },
    async revoke (id: string): Promise<void> {
      await db.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', id).where('revoked_at', 'is', null).execute()
      await changed()
    },
    async revokeAllForUser (userId: string): Promise<number> {
      const result = await db.updateTable('api_keys').set({ revoked_at: new Date() })
        .where('user_id', '=', userId).where('revoked_at', 'is', null).executeTakeFirst()
      await changed()
      return Number(result.numUpdatedRows)
    },
    async replaceSecret (id: string, secretHash: string): Promise<ApiKey | undefined> {
      const key = await db.updateTable('api_keys').set({ secret_hash: secretHash, last_used_at: null })
        .where('id', '=', id).where('revoked_at', 'is', null).returningAll().executeTakeFirst()
      await changed()
      return key
    },
    async markUsed (id: string, now: Date): Promise<void> {
      await db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', id).execute()
    }
  }
}

export type KeysRepository = ReturnType<typeof keysRepository>
