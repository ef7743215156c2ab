import cors from '@fastify/cors'
import helmet, { type HelmetOptions } from 'helmet'
import type { IncomingMessage, ServerResponse } from 'node:http'
import underPressure from '@fastify/under-pressure'
import type { FastifyInstance } from 'fastify'
import v8 from 'node:v8'
import type { Config } from '../config/config.ts'
import { sendProblem } from '../http/error-handler.ts'
import { PUBLIC } from '../access/permissions.ts'
import { CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS, originAllowed } from './cors-policy.ts'

const HSTS = 'max-age=31536000; includeSubDomains'
// Browser features Tympan never uses are switched off; the microphone stays available to the
// app's own pages (recording for transcription).
const PERMISSIONS_POLICY = 'camera=(), geolocation=(), payment=(), usb=(), microphone=(self), interest-cohort=()'
const RETRY_AFTER_SEC = 10
// Probes must answer over plain HTTP: load balancers check them before TLS is in place.
const PLAIN_HTTP_PATHS = new Set(['/healthz', '/readyz'])

/**
 * The request-edge protections that are not about identity: load shedding, HTTPS
 * enforcement, CORS and the security headers. Registered before authentication, so a
 * refused request costs no database work.
 */
export async function registerGuard (app: FastifyInstance, config: Config) {
  // The CORS plugin's catch-all OPTIONS route is public by nature (preflights carry no credentials).
  app.addHook('onRoute', (route) => {
    if (route.url === '*' && [route.method].flat().includes('OPTIONS') && !route.config?.auth) route.config = { ...route.config, auth: PUBLIC }
  })

  await app.register(underPressure, {
    maxEventLoopDelay: config.pressure.maxEventLoopDelayMs,
    maxHeapUsedBytes: config.pressure.maxHeapBytes || Math.floor(v8.getHeapStatistics().heap_size_limit * 0.9),
    retryAfter: RETRY_AFTER_SEC,
    exposeStatusRoute: false,
    pressureHandler: (request, reply, type) => {
      request.log.warn({ pressure: type }, 'shedding load')
      reply.header('retry-after', String(RETRY_AFTER_SEC))
      void sendProblem(request, reply, 503, 'The server is overloaded; retry later')
    }
  })

  if (config.forceHttps) {
    const redirectOrigin = config.publicUrl ? new URL(config.publicUrl).origin : undefined
    app.addHook('onRequest', async (request, reply) => {
      if (request.protocol === 'https' || PLAIN_HTTP_PATHS.has(request.url.split('?')[0] ?? '')) return
      const navigation = (request.method === 'GET' || request.method === 'HEAD') &&
        String(request.headers.accept ?? '').includes('text/html') && !request.url.startsWith('/api/') && !request.url.startsWith('/v1/')
      // Only PUBLIC_URL names where to go: a redirect built from the Host header would send a
      // victim, through a poisoned cache or a forged link, to any host the attacker names.
      if (navigation && redirectOrigin) return reply.redirect(`${redirectOrigin}${request.url}`, 308)
      // A silent redirect would make clients resend credentials in the clear; refuse instead.
      return sendProblem(request, reply, 403, 'HTTPS is required: send this request to the https:// address')
    })
  }

  await app.register(cors, {
    origin: (origin, callback) => callback(null, originAllowed(origin, config.corsOrigins)),
    credentials: true,
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    maxAge: 600,
    strictPreflight: true
  })

  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(securityHeaders)
    if (request.protocol === 'https') reply.header('strict-transport-security', HSTS)
    done()
  })
}

const HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:', 'blob:'],
      mediaSrc: ["'self'", 'blob:'],
      connectSrc: ["'self'"],
      fontSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"]
    }
  },
  frameguard: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' },
  crossOriginOpenerPolicy: { policy: 'same-origin' },
  crossOriginResourcePolicy: { policy: 'same-origin' },
  // Sent only on HTTPS (registerGuard): HSTS over plain HTTP is ignored by browsers and misleads.
  strictTransportSecurity: false,
  // OWASP: the XSS auditor is gone from browsers and could be abused; `0` disables it.
  xXssProtection: true
}

/**
 * Helmet chooses the headers; with no per-request nonces they are the same for every
 * response, so they are computed once here. (@fastify/helmet runs helmet's middleware
 * anew on every request, re-parsing the CSP: measured at ~86 µs a request in bench/guard.)
 */
export function helmetHeaders (options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  const response = {
    setHeader (name: string, value: string | number | readonly string[]) { headers[name.toLowerCase()] = String(value) },
    removeHeader (name: string) { delete headers[name.toLowerCase()] }
  }
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, () => {})
  return headers
}

const securityHeaders = { ...helmetHeaders(HELMET_OPTIONS), 'permissions-policy': PERMISSIONS_POLICY }
const CSP: string = (securityHeaders as Record<string, string>)['content-security-policy'] ?? ''
const STYLE_SRC = "style-src 'self'"
if (!CSP.includes(STYLE_SRC)) throw new Error('the content security policy lost its style-src directive')

/**
 * The policy of one web UI page: the strict one, plus the `<style>` elements that carry this
 * response's nonce (wavesurfer.js styles its shadow DOM with one; a per-response nonce admits
 * that element and no injected one). Scripts stay 'self' only.
 */
export function cspWithStyleNonce (nonce: string): string {
  return CSP.replace(STYLE_SRC, `${STYLE_SRC} 'nonce-${nonce}'`)
}
