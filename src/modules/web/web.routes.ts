import { randomBytes } from 'node:crypto'
import path from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { PUBLIC } from '../../access/permissions.ts'
import { cspWithStyleNonce } from '../../guard/security-headers.ts'
import { cacheControlFor, isPageNavigation, NONCE_PLACEHOLDER, PAGE_CACHE_CONTROL } from './web.policy.ts'

/** The built web UI (web/dist): the directory of its files and its page, read once at start. */
export interface WebUi {
  distDir: string
  indexHtml: string
}

function sendPage (ui: WebUi, reply: FastifyReply) {
  // A fresh nonce per response: Vite wrote the placeholder into every tag it emits and the
  // meta tag the app reads it from (build.html.cspNonce).
  const nonce = randomBytes(16).toString('base64')
  return reply.code(200)
    .header('content-security-policy', cspWithStyleNonce(nonce))
    .header('cache-control', PAGE_CACHE_CONTROL)
    .type('text/html; charset=utf-8')
    .send(ui.indexHtml.replaceAll(NONCE_PLACEHOLDER, nonce))
}

/**
 * The answer for a path no route matches: the app's page for a browser navigation (the
 * client routes it), else undefined and the usual 404 problem.
 */
export function webPageFallback (ui: WebUi) {
  return (request: FastifyRequest, reply: FastifyReply) =>
    isPageNavigation(request.method, request.url, request.headers.accept) ? sendPage(ui, reply) : undefined
}

/**
 * Serves the web UI on the API's origin, public: the page at `/` and every built file by its
 * exact name (the list is read at start; no wildcard route shadows the API's 404s and 405s).
 */
export async function webRoutes (app: FastifyInstance, ui: WebUi) {
  app.get('/', { config: { auth: PUBLIC }, schema: { hide: true } }, async (_request, reply) => sendPage(ui, reply))
  await app.register(async (scope) => {
    // Only the routes of this scope, the static files', are public.
    scope.addHook('onRoute', (route) => { route.config = { ...route.config, auth: PUBLIC } })
    await scope.register(fastifyStatic, {
      root: ui.distDir,
      prefix: '/',
      wildcard: false,
      index: false,
      // The page goes out only with its nonce (sendPage).
      globIgnore: ['index.html'],
      cacheControl: false,
      setHeaders: (reply, file) => { reply.header('cache-control', cacheControlFor(path.relative(ui.distDir, file))) }
    })
  })
}
