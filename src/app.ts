import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import cookie from '@fastify/cookie'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Config } from './config/config.ts'
import { createContainer, type Container } from './container.ts'
import type { Db } from './db/database.ts'
import { aggregatedAuditor } from './audit/aggregated-audit.ts'
import { requestAuditor } from './audit/request-audit.ts'
import { adminRoutes } from './modules/admin/admin.routes.ts'
import { registerAuthHook } from './modules/auth/auth.hook.ts'
import { authRoutes } from './modules/auth/auth.routes.ts'
import { ROLE_SCOPES, type Principal } from './access/permissions.ts'
import { healthRoutes } from './modules/health/health.routes.ts'
import { keysRoutes } from './modules/keys/keys.routes.ts'
import { meRoutes } from './modules/me/me.routes.ts'
import { filesRoutes } from './modules/files/files.routes.ts'
import { resumableRoutes } from './modules/files/resumable.routes.ts'
import { importRoutes } from './modules/files/import.routes.ts'
import { importService } from './modules/files/import.service.ts'
import { urlImporter } from './modules/files/import/url-import.ts'
import { jobsRoutes } from './modules/jobs/jobs.routes.ts'
import { enginesRoutes } from './modules/engines/engines.routes.ts'
import { generateRoutes } from './modules/generate/generate.routes.ts'
import { openAiRoutes } from './modules/openai/openai.routes.ts'
import { openAiService } from './modules/openai/openai.service.ts'
import { translateRoutes } from './modules/translate/translate.routes.ts'
import { openAiSpeechService } from './modules/openai/openai-speech.service.ts'
import { ensureServiceUser } from './modules/users/bootstrap.ts'
import { usersRepository } from './modules/users/users.repository.ts'
import { revocationBus } from './modules/auth/revocation-bus.ts'
import { registerErrorHandling } from './http/error-handler.ts'
import { registerProblemResponses } from './http/problem-responses.ts'
import { loggerOptions } from './http/logger.ts'
import { requestLogging } from './http/request-log.ts'
import { registerValidation } from './http/validation.ts'
import { requestStages } from './http/request-stages.ts'
import { registerGuard } from './guard/guard.ts'
import { responseHeaders } from './guard/security-headers.ts'
import { registerRateLimit } from './guard/rate-limit.hook.ts'
import { memorySlots, redisSlots } from './guard/slot.store.ts'
import { createMetrics } from './observability/metrics.ts'
import { metricsRoutes } from './modules/monitoring/metrics.routes.ts'
import { registerMetrics } from './observability/request-metrics.ts'
import { VERSION } from './version.ts'
import { fileStoresFor } from './storage/file-stores.ts'
import { webPageFallback, webRoutes, type WebUi } from './modules/web/web.routes.ts'
import type { FileStores } from './storage/storage.ts'

export interface AppOptions {
  config: Config
  db: Db
  /** Defaults to the local driver and workspace under $TYMPAN_DATA_DIR/files. */
  stores?: FileStores
  /** Replaces the JSON logger (tests pass a stream to inspect, or false). */
  logger?: Parameters<typeof Fastify>[0] extends infer O ? O extends { logger?: infer L } ? L : never : never
  /** The logger of `tympan serve` (http/logger.ts `openLogging`: stdout and LOG_FILE); else one on stdout. */
  loggerInstance?: FastifyBaseLogger
  /** Prefix of the rate-limit counter and event-stream slot keys (tests keep their Redis keys apart with it). */
  rateLimitKeyPrefix?: string
  /** Keep-alive and credential re-check interval of event streams (15 s; tests shorten it). */
  eventStreamBeatMs?: number
  /** The built web UI to serve at `/` (default: web/dist of this checkout, when it is built); false serves none. */
  webDir?: string | false
}

const BUILT_WEB_UI = fileURLToPath(new URL('../web/dist', import.meta.url))

/** The configured stores, their start-up warnings logged. */
async function openStores (config: Config, db: Db, log: FastifyInstance['log']): Promise<FileStores> {
  const opened = await fileStoresFor(config, db)
  for (const warning of opened.warnings) log.warn(warning)
  return opened
}

/** The built UI, or undefined when there is none to serve (web/ not built: the API runs alone). */
function loadWebUi (dir: string | false): WebUi | undefined {
  if (dir === false) return undefined
  const index = path.join(dir, 'index.html')
  if (!fs.existsSync(index)) return undefined
  return { distDir: dir, indexHtml: fs.readFileSync(index, 'utf8') }
}

declare module 'fastify' {
  interface FastifyInstance {
    container: Container
  }
}

export async function buildApp (options: AppOptions): Promise<FastifyInstance> {
  const { config, db } = options
  const app = Fastify({
    ...(options.loggerInstance ? { loggerInstance: options.loggerInstance } : { logger: options.logger ?? loggerOptions(config) }),
    // One line per request, at completion (src/http/request-log.ts), instead of Fastify's two.
    ...requestLogging(),
    genReqId: () => randomUUID(),
    bodyLimit: config.limits.bodyLimit,
    // proxy-addr semantics: X-Forwarded-* are believed only from these peers, and the client
    // is the right-most address that is not one of them.
    trustProxy: config.trustedProxies.length > 0 ? config.trustedProxies : false,
    requestTimeout: config.limits.requestTimeoutMs,
    connectionTimeout: config.limits.requestTimeoutMs,
    keepAliveTimeout: config.limits.keepAliveTimeoutMs,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 200 },
    // onReady starts the queue (pg-boss creates or checks its schema under an advisory lock):
    // on a busy or remote PostgreSQL that can outlast Fastify's 10 s default, failing the start.
    pluginTimeout: 60_000,
    // Node checks header and request timeouts on this interval (default 30 s): a slow-loris
    // client would otherwise hold its socket up to 30 s past HEADERS_TIMEOUT_MS.
    http: { connectionsCheckingInterval: 1000 },
    ...(config.tls.certFile ? { https: { cert: fs.readFileSync(config.tls.certFile), key: fs.readFileSync(config.tls.keyFile) } } : {})
  }) as unknown as FastifyInstance
  app.server.headersTimeout = config.limits.headersTimeoutMs
  app.server.maxConnections = config.maxConnections
  // First, so that every request is timed and every later plugin can reach app.metrics.
  const metrics = createMetrics()
  registerMetrics(app, metrics)

  const serviceUser = config.internalApiKeys.length > 0 ? await ensureServiceUser(usersRepository(db.kysely)) : undefined
  const revocations = revocationBus(db, app.log)
  app.addHook('onClose', () => revocations.close())
  const stores = options.stores ?? await openStores(config, db, app.log)
  // Event-stream slots in Redis hold their limits across every API node; in memory, per process.
  const streamSlots = config.redisUrl ? redisSlots(config.redisUrl, app.log, `${options.rateLimitKeyPrefix ?? 'tympan'}:streams`) : memorySlots()
  app.addHook('onClose', () => streamSlots.close())
  const container = createContainer(config, db, stores, app.log, { revocations, metrics, streamSlots, ...(serviceUser ? { serviceUser } : {}), ...(options.eventStreamBeatMs ? { eventStreamBeatMs: options.eventStreamBeatMs } : {}) })
  app.decorate('container', container)
  // The queue must be up before the first job is accepted; workers only where configured.
  app.addHook('onReady', async () => {
    await container.queue.start()
    if (config.jobs.workerConcurrency > 0) await container.runner.start(config.jobs.workerConcurrency)
  })
  app.addHook('onClose', async () => {
    await container.queue.stop(config.limits.shutdownGraceMs)
    await container.signals.close()
  })

  // First: every answer carries them, whatever later hook refuses the request.
  app.addHook('onRequest', responseHeaders)

  // JSON only: a text/plain or form POST (what a cross-site form can send without a
  // preflight) is refused with 415 before any handler runs.
  app.removeContentTypeParser(['text/plain'])
  registerValidation(app)
  const webUi = loadWebUi(options.webDir ?? BUILT_WEB_UI)
  registerErrorHandling(app, () => app.routeAuthTable, webUi ? { fallback: webPageFallback(webUi) } : {})
  registerProblemResponses(app)
  await app.register(cookie)

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Tympan API', version: VERSION, description: 'Self-hosted audio AI server. Errors are RFC 9457 problem+json.' },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
          bearer: { type: 'http', scheme: 'bearer', description: 'An API key or an access token from /api/v1/auth/login {"tokens": true}' },
          cookie: { type: 'apiKey', in: 'cookie', name: '__Host-tympan_access', description: 'Browser session; unsafe methods also need X-CSRF-Token' }
        }
      },
      security: [{ apiKey: [] }, { bearer: [] }, { cookie: [] }]
    },
    transform: ({ schema, url, route }) => {
      const auth = route.config?.auth
      const transformed = { ...schema } as Record<string, unknown>
      if (auth && 'public' in auth) transformed.security = []
      else if (auth) transformed['x-permission'] = auth.permission
      return { schema: transformed as typeof schema, url }
    }
  })

  // First the route table (it must see every route, the guard's plugins' included), then the
  // guard's request hooks, which must run before identification.
  const devPrincipal = config.authEnabled ? undefined : await devAdminPrincipal(container)
  // Refusals a client can repeat at will (403s, CSRF failures, 429s): one row per subject,
  // reason and minute, the rest counted; the counts are written before the database closes.
  const refusals = aggregatedAuditor({ write: container.audit.record, log: app.log })
  app.addHook('onClose', () => refusals.flush())
  const auth = registerAuthHook(app, { config, auth: container.auth, refusals, metrics, ...(devPrincipal ? { devPrincipal } : {}) })
  await registerGuard(app, config)
  const audit = requestAuditor(container.audit)
  // identify → no-store for an identified caller → rate limit → authorize, as one hook: a
  // request with bad credentials is limited (by address) before it is answered 401, and a
  // valid one is limited by its key or user.
  const limit = registerRateLimit(app, { config, refusals, metrics, ...(options.rateLimitKeyPrefix ? { keyPrefix: options.rateLimitKeyPrefix } : {}) })
  app.addHook('onRequest', requestStages(auth.identify, personal, limit, auth.authorize))

  app.get('/openapi.json', { config: { auth: { public: true } }, schema: { hide: true } }, async () => app.swagger())
  // BaseLayout leaves out Swagger UI's top bar, whose logo is an SVG with an inline <style>
  // that the strict CSP blocks (it offered nothing else: a box to load another document).
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { layout: 'BaseLayout' } })
  if (webUi) await webRoutes(app, webUi)

  healthRoutes(app, { health: container.health, backend: db.backend })
  metricsRoutes(app, { config, metrics })
  authRoutes(app, { config, auth: container.auth, sessions: container.sessions, audit })
  meRoutes(app, { config, users: container.users, audit })
  keysRoutes(app, { keys: container.keys, audit })
  adminRoutes(app, { users: container.users, auditLog: container.audit, audit })
  const uploads = { files: container.files, metrics }
  filesRoutes(app, { files: container.files, uploads, audit })
  await resumableRoutes(app, { config, files: container.files, resumable: container.resumableUploads, audit, metrics, store: container.resumable })
  importRoutes(app, { imports: importService({ files: container.files, importer: urlImporter(config, container.workspace), metrics }), audit })
  jobsRoutes(app, { jobs: container.jobs, streams: container.eventStreams, audit })
  enginesRoutes(app, { engines: container.engines })
  generateRoutes(app, { jobs: container.jobs, audit })
  openAiRoutes(app, {
    openai: openAiService({ files: container.files, jobs: container.jobs, syncTimeoutMs: config.jobs.syncTimeoutMs, defaultEngine: config.jobs.transcribeEngine }),
    speech: openAiSpeechService({ jobs: container.jobs, engines: container.engines, syncTimeoutMs: config.jobs.syncTimeoutMs }),
    uploads,
    engines: container.engines,
    audit
  })
  translateRoutes(app, { translation: container.translation })

  return app
}

/** Authenticated answers are personal: no shared cache may keep them (a route may still say otherwise). */
function personal (request: FastifyRequest, reply: FastifyReply): void {
  if (request.principal) reply.header('cache-control', 'no-store')
}

async function devAdminPrincipal (container: Container): Promise<Principal | undefined> {
  const page = await container.users.list(1, undefined, { role: 'admin' })
  const admin = page.items[0]
  return admin && { kind: 'dev', userId: admin.id, user: admin, role: 'admin', tier: admin.tier, scopes: ROLE_SCOPES.admin, viaCookie: false }
}
