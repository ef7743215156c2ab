import { PgBoss, fromPglite, type Job as BossJob } from 'pg-boss'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config/config.ts'
import { quoteIdent, type Db } from '../../db/database.ts'
import type { Tier } from '../../db/schema.ts'

const QUEUE = 'tympan-jobs'
// Jobs whose retries ran out while no handler could record it (a worker killed on the last
// attempt): the dead-letter worker records the failure, so no job stays "running" forever.
const DEAD_LETTER = 'tympan-jobs-dead'

export interface QueueMessage {
  jobId: string
}

export interface SendOptions {
  ownerId: string
  tier: Tier
  /** The attempt's time budget; pg-boss's own expiry is a backstop behind it. */
  timeoutSec: number
}

export interface Delivery {
  jobId: string
  /** 0 on the first attempt. */
  retryCount: number
  /** True when a failure now would be final (no retries left). */
  lastAttempt: boolean
  /** Aborted when pg-boss stops, or when this worker's claim on the job lapses. */
  signal: AbortSignal
}

export interface QueueSettings {
  heartbeatSec: number
  retryLimit: number
  /** Running jobs per user, by tier (pg-boss group concurrency, counted across all workers). */
  runningPerUser: Record<Tier, number>
  /** pg-boss's schema; tests give each app its own. */
  schema: string
  /**
   * False when an owner role installs pg-boss's schema (DATABASE_MIGRATION_URL, `installQueue`):
   * the runtime role then only checks the version, and never runs pg-boss's DDL or index builds.
   */
  migrate?: boolean
}

/** The queue as the configuration sets it, for the serving processes and for the owner step alike. */
export function queueSettings (config: Config): QueueSettings {
  return {
    heartbeatSec: config.jobs.heartbeatSec,
    retryLimit: config.jobs.retryLimit,
    runningPerUser: config.jobs.maxRunning,
    schema: config.jobs.queueSchema,
    // With an owner role, `openRuntime` installed pg-boss's schema: the runtime role runs no DDL.
    migrate: config.migration.databaseUrl === ''
  }
}

// How often the owner step looks whether pg-boss's background index builds are done, and how
// long it waits: they follow a pg-boss upgrade and take as long as the job table is big.
const INDEX_BUILD_POLL_MS = 500
const INDEX_BUILD_WAIT_MS = 30 * 60_000

/**
 * The queue: pg-boss, on PGlite or PostgreSQL (one implementation, no home-made queue). Job
 * ids are Tympan's own, so cancelling needs no mapping. LISTEN/NOTIFY wakes workers at once
 * (4 ms p50 pickup measured on PGlite, against 12 s with polling alone).
 */
export function jobQueue (db: Db, settings: QueueSettings, log: FastifyBaseLogger) {
  const boss = new PgBoss({
    ...(db.backend === 'pglite' ? { db: fromPglite(db.pglite!), backend: 'pglite' as const } : { connectionString: db.connectionString!, max: 4 }),
    schema: settings.schema,
    migrate: settings.migrate ?? true,
    useListenNotify: true,
    schedule: false,
    // The monitor is what fails a job whose worker stopped heartbeating (kill -9): it must look
    // at least as often as the heartbeat, or a dead worker's job waits minutes for its retry.
    monitorIntervalSeconds: Math.max(2, Math.floor(settings.heartbeatSec / 2)),
    superviseIntervalSeconds: Math.max(2, Math.floor(settings.heartbeatSec / 2)),
    queueCacheIntervalSeconds: 5
  })
  boss.on('error', (error: Error) => { log.error({ err: error }, 'job queue error') })
  boss.on('warning', (warning: { message: string }) => { log.warn({ warning: warning.message }, 'job queue warning') })
  let started: Promise<void> | undefined

  async function start () {
    await boss.start()
    await createQueues(boss, settings)
  }

  return {
    start (): Promise<void> {
      started ??= start()
      return started
    },
    async send (message: QueueMessage, options: SendOptions): Promise<void> {
      await boss.send(QUEUE, message, {
        id: message.jobId,
        group: { id: options.ownerId, tier: options.tier },
        expireInSeconds: options.timeoutSec + 60
      })
    },
    /** Cancels a queued or running delivery; a running worker's signal aborts at its next heartbeat. */
    async cancel (jobId: string): Promise<void> {
      await boss.cancel(QUEUE, jobId)
    },
    /** Drops the job's queue entry (a deleted job). */
    async forget (jobId: string): Promise<void> {
      await boss.deleteJob(QUEUE, jobId)
    },
    /**
     * Runs `handler` for each delivery, `concurrency` at a time in this process. A handler that
     * throws makes pg-boss retry with backoff; one that returns has settled the job itself.
     */
    async work (concurrency: number, handler: (delivery: Delivery) => Promise<void>): Promise<void> {
      const tiers = settings.runningPerUser
      await boss.work<QueueMessage>(QUEUE, {
        localConcurrency: concurrency,
        batchSize: 1,
        // NOTIFY wakes idle workers at once, but a worker that just finished a job only looks
        // again at its next poll. pg-boss skips that wait after a handler that ran ~1 s or
        // more (every real job); for quick ones (fast failures) the floor is a 1 s poll (one
        // indexed query), and a burst while pg-boss's cached count, refreshed by its monitor,
        // says jobs are ready.
        burstWhenReadyExceeds: 1,
        pollingIntervalSeconds: 1,
        notifyPollingIntervalSeconds: 1,
        groupConcurrency: { default: tiers.free, tiers }
      }, async ([job]: BossJob<QueueMessage>[]) => {
        await handler({ jobId: job!.data.jobId, retryCount: job!.retryCount, lastAttempt: job!.retryCount >= settings.retryLimit, signal: job!.signal })
      })
    },
    async workDeadLetters (handler: (jobId: string) => Promise<void>): Promise<void> {
      await boss.work<QueueMessage>(DEAD_LETTER, { batchSize: 1 }, async ([job]: BossJob<QueueMessage>[]) => {
        await handler(job!.data.jobId)
      })
    },
    async stop (graceMs: number): Promise<void> {
      if (!started) return
      await started.catch(() => {})
      await boss.stop({ graceful: true, timeout: graceMs, close: db.backend !== 'pglite' })
    }
  }
}

export type JobQueue = ReturnType<typeof jobQueue>

// An insert into pg-boss's queue table (ON CONFLICT DO NOTHING), not DDL, for queues that are
// not partitioned: the runtime role may run it. The owner step runs it first all the same.
async function createQueues (boss: PgBoss, settings: QueueSettings): Promise<void> {
  await boss.createQueue(DEAD_LETTER, { notify: true })
  await boss.createQueue(QUEUE, {
    notify: true,
    retryLimit: settings.retryLimit,
    retryBackoff: true,
    retryDelay: 2,
    retryDelayMax: 300,
    heartbeatSeconds: settings.heartbeatSec,
    deadLetter: DEAD_LETTER
  })
}

/**
 * The owner step for pg-boss (PostgreSQL, DATABASE_MIGRATION_URL): creates or migrates its
 * schema and Tympan's queues, and waits for the index builds a migration queues for pg-boss's
 * background runner, which a runtime started with `migrate: false` never runs.
 */
export async function installQueue (connectionString: string, settings: QueueSettings): Promise<void> {
  const boss = new PgBoss({
    connectionString,
    max: 2,
    schema: settings.schema,
    migrate: true,
    supervise: false,
    schedule: false,
    registerInstance: false
  })
  let failure: Error | undefined
  boss.on('error', (error: Error) => { failure ??= error })
  try {
    await boss.start()
    await createQueues(boss, settings)
    await indexBuildsDone(boss, settings.schema, () => failure)
  } finally {
    // Also after a failed start, whose pool would otherwise keep the process alive; the
    // start's own error is the one worth reporting.
    await boss.stop({ graceful: false, close: true }).catch(() => {})
  }
}

async function indexBuildsDone (boss: PgBoss, schema: string, failure: () => Error | undefined): Promise<void> {
  const deadline = Date.now() + INDEX_BUILD_WAIT_MS
  const db = boss.getDb()
  for (;;) {
    const { rows } = await db.executeSql(`SELECT status, count(*)::int AS n FROM ${quoteIdent(schema)}.bam WHERE status <> 'completed' GROUP BY status`) as { rows: { status: string, n: number }[] }
    if (rows.length === 0) return
    const failed = rows.find((r) => r.status === 'failed')
    if (failed) throw new Error(`pg-boss could not build ${failed.n} index(es) in schema ${schema} (see ${schema}.bam): ${failure()?.message ?? 'no error reported'}`)
    if (Date.now() > deadline) throw new Error(`pg-boss's index builds in schema ${schema} are still running after ${INDEX_BUILD_WAIT_MS / 60_000} minutes; run the migration again to wait for them`)
    await new Promise((resolve) => setTimeout(resolve, INDEX_BUILD_POLL_MS))
  }
}
