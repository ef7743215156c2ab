import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database, Job, JobArtifact, JobErrorCode, JobEvent, JobStatus, Tier } from '../../db/schema.ts'
import { keyset, type KeysetPosition } from '../../db/keyset.ts'

export interface NewJob {
  id: string
  ownerId: string
  type: string
  fileId: string | null
  params: Record<string, unknown>
}

export interface JobFilter {
  status?: JobStatus
  type?: string
  fileId?: string
}

export interface Finish {
  status: 'succeeded' | 'failed' | 'canceled'
  result?: unknown
  error?: { code: JobErrorCode, message: string }
  artifacts?: JobArtifact[]
  expiresAt: Date
}

const UNFINISHED: JobStatus[] = ['queued', 'running']
/** Events per read; a reader that gets a full page reads again before the stream may end. */
export const EVENTS_PAGE = 1000

/** Every write that changes what a client sees also appends the event SSE clients replay. */
async function addEvent (trx: Kysely<Database>, jobId: string, kind: JobEvent['kind'], data: Record<string, unknown>): Promise<void> {
  await trx.insertInto('job_events').values({ job_id: jobId, kind, data: JSON.stringify(data) }).execute()
}

export function jobsRepository (db: Kysely<Database>) {
  return {
    /**
     * Inserts the job unless the owner already has `maxUnfinished` queued or running jobs, or
     * its file has expired or is gone (`fileGone`). Locking the owner's row serialises one
     * user's concurrent requests, so 200 requests at once cannot all see room for one more;
     * holding the file's row until the insert commits makes the retention sweep wait for the
     * job and then keep the file (files.repository deleteExpired).
     */
    async insertWithinLimit (job: NewJob, maxUnfinished: number, now = new Date()): Promise<{ job: Job } | { unfinished: number } | { fileGone: true }> {
      return db.transaction().execute(async (trx) => {
        await trx.selectFrom('users').select('id').where('id', '=', job.ownerId).forUpdate().executeTakeFirst()
        if (job.fileId !== null) {
          const file = await trx.selectFrom('files').select('id').where('id', '=', job.fileId).where('owner_id', '=', job.ownerId)
            .where('expires_at', '>', now).forShare().executeTakeFirst()
          if (!file) return { fileGone: true as const }
        }
        const row = await trx.selectFrom('jobs').select(sql<number>`count(*)::int`.as('n'))
          .where('owner_id', '=', job.ownerId).where('status', 'in', UNFINISHED).executeTakeFirstOrThrow()
        if (row.n >= maxUnfinished) return { unfinished: row.n }
        const inserted = await trx.insertInto('jobs').values({
          id: job.id, owner_id: job.ownerId, type: job.type, file_id: job.fileId, params: JSON.stringify(job.params)
        }).returningAll().executeTakeFirstOrThrow()
        await addEvent(trx, job.id, 'status', { status: 'queued' })
        return { job: inserted }
      })
    },
    findById (id: string): Promise<Job | undefined> {
      return db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst()
    },
    list (ownerId: string, limit: number, filter: JobFilter, after?: KeysetPosition): Promise<Job[]> {
      let query = db.selectFrom('jobs').selectAll().where('owner_id', '=', ownerId)
      if (filter.status) query = query.where('status', '=', filter.status)
      if (filter.type) query = query.where('type', '=', filter.type)
      if (filter.fileId) query = query.where('file_id', '=', filter.fileId)
      return keyset(query, { order: 'desc', after }).limit(limit).execute()
    },
    listAllForOwner (ownerId: string): Promise<Job[]> {
      return db.selectFrom('jobs').selectAll().where('owner_id', '=', ownerId).orderBy('created_at').execute()
    },
    /**
     * Claims the job for an attempt: undefined when it was canceled or deleted meanwhile,
     * `busy` when its owner already has their tier's number of jobs running. The owner's row
     * lock makes the count and the claim one step, so two workers cannot both take the last
     * slot (pg-boss's own group limit is counted per fetch, and two fetches can overlap).
     */
    async start (id: string, maxRunning: Record<Tier, number>): Promise<Job | 'busy' | undefined> {
      return db.transaction().execute(async (trx) => {
        const owner = await trx.selectFrom('jobs').innerJoin('users', 'users.id', 'jobs.owner_id')
          .select(['users.id', 'users.tier']).where('jobs.id', '=', id).forUpdate('users').executeTakeFirst()
        if (!owner) return undefined
        const running = await trx.selectFrom('jobs').select(sql<number>`count(*)::int`.as('n'))
          .where('owner_id', '=', owner.id).where('status', '=', 'running').where('id', '<>', id).executeTakeFirstOrThrow()
        if (running.n >= maxRunning[owner.tier]) return 'busy'
        const job = await trx.updateTable('jobs')
          .set({ status: 'running', attempts: sql`attempts + 1`, progress: 0, stage: 'starting', error: null, error_code: null, started_at: sql`coalesce(started_at, now())` })
          .where('id', '=', id).where('status', 'in', UNFINISHED).returningAll().executeTakeFirst()
        if (job) await addEvent(trx, id, 'status', { status: 'running', attempt: job.attempts })
        return job
      })
    },
    /** False once the job is no longer running here: canceled or deleted, so stop working on it. */
    async progress (id: string, progress: number, stage: string): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const row = await trx.updateTable('jobs').set({ progress, stage }).where('id', '=', id).where('status', '=', 'running')
          .returning('id').executeTakeFirst()
        if (row) await addEvent(trx, id, 'progress', { progress, stage })
        return row !== undefined
      })
    },
    /** Appends a `partial` event while the job is running here; false once it is not. */
    async partial (id: string, data: Record<string, unknown>): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const row = await trx.selectFrom('jobs').select('id').where('id', '=', id).where('status', '=', 'running').executeTakeFirst()
        if (row) await addEvent(trx, id, 'partial', data)
        return row !== undefined
      })
    },
    /** A failed attempt that will be retried: back to queued, with the reason as the stage. */
    async requeue (id: string, stage: string): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const row = await trx.updateTable('jobs').set({ status: 'queued', stage }).where('id', '=', id).where('status', '=', 'running')
          .returning('id').executeTakeFirst()
        if (row) await addEvent(trx, id, 'status', { status: 'queued', stage })
        return row !== undefined
      })
    },
    /** Ends an unfinished job; false when it had already ended (canceled, or finished elsewhere). */
    async finish (id: string, end: Finish): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const row = await trx.updateTable('jobs').set({
          status: end.status,
          result: end.result === undefined ? null : JSON.stringify(end.result),
          error: end.error?.message ?? null,
          error_code: end.error?.code ?? null,
          progress: end.status === 'succeeded' ? 1 : sql`progress`,
          stage: end.status,
          finished_at: sql`now()`,
          expires_at: end.expiresAt
        }).where('id', '=', id).where('status', 'in', UNFINISHED).returning('id').executeTakeFirst()
        if (!row) return false
        if (end.artifacts?.length) await trx.insertInto('job_artifacts').values(end.artifacts).execute()
        await addEvent(trx, id, 'status', { status: end.status, ...(end.error ? { error: end.error.message, errorCode: end.error.code } : {}) })
        return true
      })
    },
    /** Deletes the job; returns the storage objects of its artifacts, for the caller to delete. */
    async delete (id: string): Promise<string[] | undefined> {
      return db.transaction().execute(async (trx: Transaction<Database>) => {
        const objects = await trx.selectFrom('job_artifacts').select('object_id').where('job_id', '=', id).execute()
        const deleted = await trx.deleteFrom('jobs').where('id', '=', id).executeTakeFirst()
        return Number(deleted.numDeletedRows) > 0 ? objects.map((o) => o.object_id) : undefined
      })
    },
    artifacts (jobId: string): Promise<JobArtifact[]> {
      return db.selectFrom('job_artifacts').selectAll().where('job_id', '=', jobId).orderBy('name').execute()
    },
    artifactsOf (jobIds: string[]): Promise<JobArtifact[]> {
      if (jobIds.length === 0) return Promise.resolve([])
      return db.selectFrom('job_artifacts').selectAll().where('job_id', 'in', jobIds).orderBy('name').execute()
    },
    artifact (jobId: string, name: string): Promise<JobArtifact | undefined> {
      return db.selectFrom('job_artifacts').selectAll().where('job_id', '=', jobId).where('name', '=', name).executeTakeFirst()
    },
    events (jobId: string, afterId: number): Promise<JobEvent[]> {
      return db.selectFrom('job_events').selectAll().where('job_id', '=', jobId).where('id', '>', afterId).orderBy('id').limit(EVENTS_PAGE).execute()
    },
    /** Finished jobs past their retention, oldest first. */
    expired (now: Date, limit: number): Promise<Job[]> {
      return db.selectFrom('jobs').selectAll().where('expires_at', '<=', now).where('status', 'not in', UNFINISHED)
        .orderBy('expires_at').limit(limit).execute()
    },
    /** Whether a queued or running job other than `exceptJobId` still needs the file. */
    async fileInUse (fileId: string, exceptJobId: string): Promise<boolean> {
      const row = await db.selectFrom('jobs').select('id').where('file_id', '=', fileId).where('status', 'in', UNFINISHED)
        .where('id', '<>', exceptJobId).limit(1).executeTakeFirst()
      return row !== undefined
    },
    /** Every owner's jobs counted by type and status, with the oldest creation of each group (the queue overview). */
    countsByTypeAndStatus (): Promise<Array<{ type: string, status: JobStatus, count: number, oldest: Date }>> {
      return db.selectFrom('jobs')
        .select(({ fn }) => ['type', 'status', fn.countAll<string>().as('count'), fn.min('created_at').as('oldest')])
        .groupBy(['type', 'status']).orderBy('type').orderBy('status').execute()
        .then((rows) => rows.map((r) => ({ type: r.type, status: r.status, count: Number(r.count), oldest: new Date(r.oldest) })))
    }
  }
}

export type JobsRepository = ReturnType<typeof jobsRepository>
