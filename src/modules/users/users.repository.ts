import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database, NewUser, Role, Tier, User, UserUpdate } from '../../db/schema.ts'
import { keyset, type KeysetPosition } from '../../db/keyset.ts'

/** `changed` runs after every write that can change what a credential allows (see revocation-bus.ts). */
export function usersRepository (db: Kysely<Database>, changed: () => Promise<void> = async () => {}) {
  return {
    /** People only: the service account of INTERNAL_API_KEYS is not a user anyone signs in as. */
    async count (): Promise<number> {
      const row = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).where('is_service', '=', false).executeTakeFirstOrThrow()
      return Number(row.n)
    },
    findById (id: string): Promise<User | undefined> {
      return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
    },
    findByEmail (email: string): Promise<User | undefined> {
      return db.selectFrom('users').selectAll().where(sql`lower(email)`, '=', email.toLowerCase()).executeTakeFirst()
    },
    /** Returns undefined when the email is taken (the unique index decides, so two racing creates cannot both win). */
    async insert (user: NewUser): Promise<User | undefined> {
      return db.insertInto('users').values(user)
        .onConflict((oc) => oc.expression(sql`lower(email)`).doNothing())
        .returningAll().executeTakeFirst()
    },
    async update (id: string, patch: UserUpdate): Promise<User | undefined> {
      const user = await db.updateTable('users').set({ ...patch, updated_at: new Date() }).where('id', '=', id).returningAll().executeTakeFirst()
      await changed()
      return user
    },
    list (options: { limit: number, after?: KeysetPosition | undefined, role?: Role, tier?: Tier }): Promise<User[]> {
      let query = db.selectFrom('users').selectAll().where('is_service', '=', false)
      if (options.role) query = query.where('role', '=', options.role)
      if (options.tier) query = query.where('tier', '=', options.tier)
      return keyset(query, { order: 'asc', after: options.after }).limit(options.limit).execute()
    },
    async countActiveAdmins (): Promise<number> {
      const row = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('role', '=', 'admin').where('disabled', '=', false).executeTakeFirstOrThrow()
      return Number(row.n)
    },
    /**
     * `update` and `delete` that refuse ('last_admin') when the write would leave no enabled admin.
     * The enabled admins are locked first, so two admins demoting or erasing each other at the
     * same moment cannot both succeed.
     */
    async updateKeepingAnAdmin (id: string, patch: UserUpdate): Promise<User | undefined | 'last_admin'> {
      const result = await db.transaction().execute(async (trx) => {
        if (await wouldRemoveLastAdmin(trx, id, (patch.role !== undefined && patch.role !== 'admin') || patch.disabled === true)) return 'last_admin' as const
        return trx.updateTable('users').set({ ...patch, updated_at: new Date() }).where('id', '=', id).returningAll().executeTakeFirst()
      })
      await changed()
      return result
    },
    async deleteKeepingAnAdmin (id: string): Promise<boolean | 'last_admin'> {
      const result = await db.transaction().execute(async (trx) => {
        if (await wouldRemoveLastAdmin(trx, id, true)) return 'last_admin' as const
        return Number((await trx.deleteFrom('users').where('id', '=', id).executeTakeFirst()).numDeletedRows) > 0
      })
      await changed()
      return result
    },
    async delete (id: string): Promise<boolean> {
      const result = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst()
      await changed()
      return Number(result.numDeletedRows) > 0
    }
  }
}

async function wouldRemoveLastAdmin (trx: Transaction<Database>, id: string, removesAdmin: boolean): Promise<boolean> {
  if (!removesAdmin) return false
  const admins = await trx.selectFrom('users').select('id').where('role', '=', 'admin').where('disabled', '=', false).forUpdate().execute()
  return admins.length <= 1 && admins.some((a) => a.id === id)
}

export type UsersRepository = ReturnType<typeof usersRepository>
