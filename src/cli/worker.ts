import closeWithGrace from 'close-with-grace'
import type { FastifyBaseLogger } from 'fastify'
import { createContainer } from '../container.ts'
import { openLogging } from '../http/logger.ts'
import { fileStoresFor } from '../storage/file-stores.ts'
import { CliError, openRuntime } from './runtime.ts'

/**
 * `tympan worker`: runs jobs and nothing else, on any machine that reaches the same
 * PostgreSQL and storage. Start as many as the hardware allows; pg-boss hands each job to one.
 */
export async function worker (): Promise<void> {
  const { config, db } = await openRuntime()
  if (db.backend === 'pglite') {
    await db.close()
    throw new CliError('tympan worker needs DATABASE_URL (PostgreSQL): the embedded PGlite database belongs to one process, and `tympan serve` already runs workers in it (WORKER_CONCURRENCY)')
  }
  // The same outputs as `tympan serve` (stdout, LOG_FILE), one log file per process (docs/operations.md, "Logs").
  const logging = await openLogging(config).catch(async (error: unknown) => {
    await db.close()
    throw error
  })
  const log = logging.logger as FastifyBaseLogger
  const files = await fileStoresFor(config, db).catch(async (error: unknown) => { await db.close(); await logging.flush(); throw error })
  for (const warning of files.warnings) log.warn(warning)
  const container = createContainer(config, db, files, log)
  const concurrency = Math.max(1, config.jobs.workerConcurrency)
  await container.runner.start(concurrency)
  closeWithGrace({ delay: config.limits.shutdownGraceMs }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'worker stopping after a fatal error')
    else log.info({ signal }, 'worker stopping')
    await container.queue.stop(config.limits.shutdownGraceMs)
    await container.signals.close()
    await db.close()
    await logging.flush()
  })
  // After the handlers: once this line is out, a stop is graceful (the line is written off
  // this thread, and a SIGTERM sent on reading it could otherwise arrive first).
  log.info({ concurrency }, 'worker started')
}
