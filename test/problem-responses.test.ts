import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { problemStatuses } from '../src/http/problem-responses.ts'
import { backends } from './helpers/db.ts'
import { startApp, type TestApp } from './helpers/app.ts'

type Responses = Record<string, { content?: Record<string, { schema: { properties: Record<string, unknown>, additionalProperties?: boolean } }> }>

describe('problemStatuses', () => {
  it('gives public routes no 401/403, routes with params a 404, routes with bodies 400/413/415', () => {
    assert.deepEqual(problemStatuses({ method: 'POST', url: '/api/v1/auth/login', schema: { body: {} }, config: { auth: { public: true } } }), [400, 413, 415, 422, 429])
    assert.deepEqual(problemStatuses({ method: 'GET', url: '/api/v1/files/:id', schema: { params: {} }, config: { auth: { permission: 'files:read' } } }), [401, 403, 404, 422, 429])
    assert.deepEqual(problemStatuses({ method: 'GET', url: '/api/v1/me', schema: {}, config: { auth: { permission: 'self' } } }), [401, 403, 429])
  })
})

for (const backend of await backends()) {
  describe(`problem responses in /openapi.json and on the wire (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    let paths: Record<string, Record<string, { responses: Responses }>>
    before(async () => {
      t = await startApp(backend.name)
      paths = (await t.app.inject('/openapi.json')).json().paths
    })
    after(() => t.close())

    const statuses = (path: string, method: string) => Object.keys(paths[path]![method]!.responses)

    it('documents the problem answers each route can give, beside its own', () => {
      const file = paths['/api/v1/files/{id}']!.get!.responses
      assert.deepEqual(statuses('/api/v1/files/{id}', 'get'), ['200', '401', '403', '404', '422', '429'])
      const problem = file['404']!.content!['application/problem+json']!.schema
      assert.deepEqual(Object.keys(problem.properties).sort(), ['detail', 'requestId', 'status', 'title', 'type'])
      assert.equal(problem.additionalProperties, true)
      assert.deepEqual(statuses('/api/v1/auth/login', 'post').filter((s) => s >= '400').sort(), ['400', '413', '415', '422', '429'])
      assert.ok(statuses('/api/v1/jobs', 'post').includes('202'))
      assert.deepEqual(statuses('/api/v1/jobs/{id}', 'delete'), ['200', '204', '401', '403', '404', '422', '429'])
      // Not the API's problem shape: the OpenAI-compatible routes answer their own error JSON.
      assert.ok(!statuses('/v1/audio/transcriptions', 'post').includes('422'))
    })

    it('keeps every field of the error bodies it now serialises by the schema', async () => {
      const session = await t.login((await t.createUser()).email)
      const missing = await t.app.inject({ method: 'GET', url: '/api/v1/files/00000000-0000-4000-8000-000000000000', headers: { cookie: session.cookie } })
      assert.equal(missing.statusCode, 404)
      assert.match(String(missing.headers['content-type']), /^application\/problem\+json/)
      assert.deepEqual(missing.json(), { type: 'about:blank', title: 'Not Found', status: 404, detail: 'File was not found', requestId: missing.headers['x-request-id'] })

      const invalid = await t.app.inject({ method: 'GET', url: '/api/v1/files?limit=0', headers: { cookie: session.cookie } })
      assert.equal(invalid.statusCode, 422)
      const body = invalid.json()
      assert.equal(body.field, 'querystring.limit')
      assert.deepEqual(body.errors, [{ field: 'querystring.limit', message: body.errors[0].message }])

      const badCursor = await t.app.inject({ method: 'GET', url: '/api/v1/files?cursor=abc', headers: { cookie: session.cookie } })
      assert.equal(badCursor.statusCode, 422)
      assert.equal(badCursor.json().field, 'cursor')

      const wrong = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: 'nobody@example.com', password: 'wrong password here' } })
      assert.equal(wrong.statusCode, 401)
      assert.deepEqual(Object.keys(wrong.json()).sort(), ['detail', 'requestId', 'status', 'title', 'type'])
    })
  })
}
