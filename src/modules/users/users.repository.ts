import { sql, type Kysely } from 'kysely'
import type { Database, NewUser, Role, Tier, User, UserUpdate } from '../../db/schema.ts'

/** `changed` runs after every write that can change what a credential allows (see revocation-bus.ts). */
export function usersRepository (db: Kysely<Database>, changed: () => Promise<void> = async () => {}) {
  return {
    async count (): Promise<number> {
      const row = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
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
    list (options: { limit: number, after?: { createdAt: Date, id: string }, role?: Role, tier?: Tier }): Promise<User[]> {
      let query = db.selectFrom('users').selectAll().where('is_service', '=', false)
      if (options.role) query = query.where('role', '=', options.role)
      if (options.tier) query = query.where('tier', '=', options.tier)
      if (options.after) {
        const { createdAt, id } = options.after
        query = query.where((eb) => eb.or([eb('created_at', '>', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '>', id)])]))
      }
      return query.orderBy('created_at').orderBy('id').limit(options.limit).execute()
    },
    async countActiveAdmins (): Promise<number> {
      const row = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('role', '=', 'admin').where('disabled', '=', false).executeTakeFirstOrThrow()
      return Number(row.n)
    },
    async delete (id: string): Promise<boolean> {
      const result = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst()
      await changed()
      return Number(result.numDeletedRows) > 0
    }
  }
}

export type UsersRepository = ReturnType<typeof usersRepository>
