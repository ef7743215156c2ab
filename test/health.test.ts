import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { backends } from './helpers/db.ts'
import { startApp, type TestApp } from './helpers/app.ts'

for (const backend of await backends()) {
  describe(`health and HTTP basics (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    before(async () => { t = await startApp(backend.name) })
    after(() => t?.close())

    it('answers /healthz and /readyz with a request id', async () => {
      const live = await t.app.inject('/healthz')
      assert.equal(live.statusCode, 200)
      assert.match(String(live.headers['x-request-id']), /^[0-9a-f-]{36}$/)
      const ready = await t.app.inject('/readyz')
      assert.equal(ready.statusCode, 200)
      assert.equal(ready.json().database, backend.name)
    })

    it('answers an unknown route with problem+json 404', async () => {
      const res = await t.app.inject('/nope')
      assert.equal(res.statusCode, 404)
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/)
      const body = res.json()
      assert.equal(body.status, 404)
      assert.equal(body.requestId, res.headers['x-request-id'])
    })

    it('serves the OpenAPI 3.1 document and the docs UI without authentication', async () => {
      const doc = await t.app.inject('/openapi.json')
      assert.equal(doc.statusCode, 200)
      assert.equal(doc.json().openapi, '3.1.0')
      assert.ok(doc.json().paths['/api/v1/auth/login'])
      const ui = await t.app.inject('/docs/')
      assert.equal(ui.statusCode, 200)
    })
  })
}
