import type { CookieSerializeOptions } from '@fastify/cookie'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../../config/config.ts'

export const REFRESH_COOKIE_PATH = '/api/v1/auth'

/**
 * Cookie names follow the secure-ness of the connection: `__Host-` needs Secure, path "/" and
 * no Domain, which pins the cookie to this exact origin; the refresh cookie is path-scoped so
 * it can only take `__Secure-`. Over plain HTTP in development, browsers refuse those
 * prefixes, so unprefixed names are used there.
 */
export function cookieNames (secure: boolean) {
  return secure
    ? { access: '__Host-tympan_access', refresh: '__Secure-tympan_refresh', csrf: '__Host-tympan_csrf' }
    : { access: 'tympan_access', refresh: 'tympan_refresh', csrf: 'tympan_csrf' }
}

export function isSecureRequest (request: FastifyRequest, config: Config): boolean {
  return request.protocol === 'https' || config.isProduction
}

export interface CookieTokens {
  accessToken: string
  accessExpiresAt: Date
  refreshToken: string
  refreshExpiresAt: Date
  csrfToken: string
}

export function setSessionCookies (request: FastifyRequest, reply: FastifyReply, config: Config, tokens: CookieTokens) {
  const secure = isSecureRequest(request, config)
  const names = cookieNames(secure)
  const base: CookieSerializeOptions = { secure, sameSite: 'strict', path: '/' }
  reply.setCookie(names.access, tokens.accessToken, { ...base, httpOnly: true, expires: tokens.accessExpiresAt })
  reply.setCookie(names.refresh, tokens.refreshToken, { ...base, httpOnly: true, path: REFRESH_COOKIE_PATH, expires: tokens.refreshExpiresAt })
  // Readable by the page on purpose: the double-submit pattern needs script to echo it.
  reply.setCookie(names.csrf, tokens.csrfToken, { ...base, httpOnly: false, expires: tokens.refreshExpiresAt })
}

export function clearSessionCookies (request: FastifyRequest, reply: FastifyReply, config: Config) {
  const secure = isSecureRequest(request, config)
  const names = cookieNames(secure)
  const base: CookieSerializeOptions = { secure, sameSite: 'strict', path: '/' }
  reply.clearCookie(names.access, base)
  reply.clearCookie(names.refresh, { ...base, path: REFRESH_COOKIE_PATH })
  reply.clearCookie(names.csrf, base)
}

export function readSessionCookies (request: FastifyRequest, config: Config) {
  const names = cookieNames(isSecureRequest(request, config))
  return { access: request.cookies[names.access], refresh: request.cookies[names.refresh], csrf: request.cookies[names.csrf] }
}
