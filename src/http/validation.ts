import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyInstance } from 'fastify'

// Bodies are checked strictly: no type coercion ("12" is not 12), no silent removal of unknown
// fields (they are rejected, so nobody can mass-assign `role`). Path and query strings are
// text by nature, so only they are coerced.
const common: Options = { allErrors: false, useDefaults: true, strict: false }
const strict = addFormats.default(new Ajv({ ...common, coerceTypes: false, removeAdditional: false }))
const coercing = addFormats.default(new Ajv({ ...common, coerceTypes: 'array', removeAdditional: false }))

export function registerValidation (app: FastifyInstance) {
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? strict : coercing).compile(schema))
}
