import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { RequestAuditor } from '../../audit/request-audit.ts'
import { toPublicKey, type KeysService } from './keys.service.ts'
import { CreateKeyBody, KeyIdParams, KeyList, KeyWithSecret } from './keys.schemas.ts'

const auth = { permission: 'self', sessionOnly: true } as const
const tags = ['keys']

export function keysRoutes (app: FastifyInstance, deps: { keys: KeysService, audit: RequestAuditor }) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>()

  r.post('/api/v1/keys', {
    config: { auth },
    schema: { tags, summary: 'Create an API key (the secret is returned once)', body: CreateKeyBody, response: { 201: KeyWithSecret } }
  }, async (request, reply) => {
    const { key, secret } = await deps.keys.create(request.principal!, request.body)
    await deps.audit(request, 'key.created', 201, { keyId: key.id, scopes: key.scopes, expiresAt: key.expires_at })
    reply.header('cache-control', 'no-store')
    return reply.code(201).send({ ...toPublicKey(key), key: secret })
  })

  r.get('/api/v1/keys', {
    config: { auth },
    schema: { tags, summary: 'Your API keys (never the secrets)', response: { 200: KeyList } }
  }, async (request) => ({ items: (await deps.keys.list(request.principal!)).map(toPublicKey) }))

  r.delete('/api/v1/keys/:id', {
    config: { auth },
    schema: { tags, summary: 'Revoke an API key', params: KeyIdParams }
  }, async (request, reply) => {
    const key = await deps.keys.revoke(request.principal!, request.params.id)
    await deps.audit(request, 'key.revoked', 204, { keyId: key.id })
    return reply.code(204).send()
  })

  r.post('/api/v1/keys/:id/rotate', {
    config: { auth },
    schema: { tags, summary: 'Rotate an API key: new secret, the old one dies at once', params: KeyIdParams, response: { 200: KeyWithSecret } }
  }, async (request, reply) => {
    const { key, secret } = await deps.keys.rotate(request.principal!, request.params.id)
    await deps.audit(request, 'key.rotated', 200, { keyId: key.id })
    reply.header('cache-control', 'no-store')
    return { ...toPublicKey(key), key: secret }
  })
}
