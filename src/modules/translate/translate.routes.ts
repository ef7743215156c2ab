import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { LanguagesReply, TranslateBody, TranslateReplySchema } from './translate.schemas.ts'
import type { TranslationService } from './translate.service.ts'

const tags = ['translate']

export function translateRoutes (app: FastifyInstance, deps: { translation: TranslationService }) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>()

  r.post('/api/v1/translate', {
    config: { auth: { permission: 'translate' }, rateLimit: 'uploads' },
    schema: {
      tags,
      summary: 'Translate a text, synchronously',
      description: 'Apertium, through pivot languages where no pair is direct (see GET /api/v1/translate/languages). A refused pair names the targets the source reaches and the installed pairs. Each call writes a row of your translation log (languages, route, length, duration; the text only when the server keeps it, TRANSLATION_LOG_TEXT), which your data export lists.',
      body: TranslateBody,
      response: { 200: TranslateReplySchema }
    }
  }, async (request, reply) => {
    const abort = new AbortController()
    reply.raw.once('close', () => { if (!reply.raw.writableFinished) abort.abort() })
    return deps.translation.translate(request.principal!, request.body, abort.signal)
  })

  r.get('/api/v1/translate/languages', {
    config: { auth: { permission: 'translate' } },
    schema: { tags, summary: 'The installed language pairs, and every route through pivots', response: { 200: LanguagesReply } }
  }, async () => deps.translation.languages())
}
