// The baseline for bench/guard: a minimal Fastify server (no plugins, no hooks, no auth, no
// logger) whose GET /api/v1/me answers 200 with a fixed JSON body, the same one Tympan's
// /api/v1/me answered for the bench's API key, serialised with JSON.stringify.
// Usage: node bench/guard/bare-server.ts <port> <body-json>
// Prints "listening" on stdout when ready.
import Fastify from 'fastify'

const [port, body] = process.argv.slice(2)
if (!port || !body) throw new Error('usage: bare-server.ts <port> <body-json>')
const payload = JSON.parse(body) as unknown

const app = Fastify({ logger: false })
app.get('/api/v1/me', async () => payload)
await app.listen({ host: '127.0.0.1', port: Number(port) })
console.log('listening')
process.on('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
