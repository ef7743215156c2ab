import helmet, { type HelmetOptions } from 'helmet'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { onRequestHookHandler } from 'fastify'

const HSTS = 'max-age=31536000; includeSubDomains'
// Browser features Tympan never uses are switched off; the microphone stays available to the
// app's own pages (recording for transcription).
const PERMISSIONS_POLICY = 'camera=(), geolocation=(), payment=(), usb=(), microphone=(self), interest-cohort=()'

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
  // Sent only on HTTPS (responseHeaders, below): HSTS over plain HTTP is ignored by browsers and misleads.
  strictTransportSecurity: false,
  // OWASP: the XSS auditor is gone from browsers and could be abused; `0` disables it.
  xXssProtection: true
}

/**
 * Helmet chooses the headers; with no per-request nonces they are the same for every
 * response, so they are computed once here. (@fastify/helmet runs helmet's middleware
 * anew on every request, re-parsing the CSP: measured at ~86 µs a request in bench/guard.)
 */
function helmetHeaders (options: HelmetOptions): Record<string, string> {
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

/**
 * The first onRequest hook: X-Request-Id and the security headers on every answer, the ones
 * refused by a later hook too (load shedding's 503, CORS preflights, 401, 429), in one
 * callback-style hook (an async one costs a promise per request).
 */
export const responseHeaders: onRequestHookHandler = (request, reply, done) => {
  reply.header('x-request-id', request.id)
  reply.headers(securityHeaders)
  if (request.protocol === 'https') reply.header('strict-transport-security', HSTS)
  done()
}
