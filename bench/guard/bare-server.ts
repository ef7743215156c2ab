// The baselines for bench/guard: a minimal Fastify server (no plugins, no hooks, no auth, no
// logger) whose GET /api/v1/me answers 200 with a fixed JSON body, the same one Tympan's
// /api/v1/me answered for the bench's API key, serialised with JSON.stringify.
// With --headers and --log it is the floor instead: the same server sending the response
// headers Tympan sends (the JSON object given, plus a fresh X-Request-Id each time) and
// writing one pino line per request, with the fields of Tympan's request line, to /dev/null
// (where the bench sends Tympan's stdout) through the destination Tympan uses (pino's
// asynchronous one), one hook each and no child logger per request. What Tympan
// costs above the floor is its own work; the floor's cost below bare is what those headers
// and that line cost any Fastify server.
// Usage: node bench/guard/bare-server.ts <port> <body-json> [--headers <json>] [--log]
// Prints "listening" on stdout when ready.
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify'
import pino from 'pino'

const { values, positionals } = parseArgs({ allowPositionals: true, options: { headers: { type: 'string' }, log: { type: 'boolean', default: false } } })
const [port, body] = positionals
if (!port || !body) throw new Error('usage: bare-server.ts <port> <body-json> [--headers <json>] [--log]')
const payload = JSON.parse(body) as unknown
const headers = values.headers ? JSON.parse(values.headers) as Record<string, string> : undefined

const app = Fastify(values.log
  ? {
      loggerInstance: pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false })),
      logController: new LogController({ disableRequestLogging: true }),
      // No child logger per request: the line below carries reqId itself.
      childLoggerFactory: (logger: FastifyBaseLogger) => logger,
      genReqId: () => randomUUID()
    }
  : { logger: false })
if (headers) {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    reply.headers(headers)
    done()
  })
}
if (values.log) {
  app.addHook('onResponse', (request, reply, done) => {
    const length = Number(reply.getHeader('content-length'))
    app.log.info({
      reqId: request.id, method: request.method, route: request.routeOptions.url ?? 'unmatched', url: request.url, status: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 10) / 10, userId: null, keyId: null, auth: 'none', ip: request.ip,
      userAgent: request.headers['user-agent'] ?? null, bytes: Number.isSafeInteger(length) ? length : null
    }, 'request')
    done()
  })
}
app.get('/api/v1/me', async () => payload)
await app.listen({ host: '127.0.0.1', port: Number(port) })
console.log('listening')
process.on('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
