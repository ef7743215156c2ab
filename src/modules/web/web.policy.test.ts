import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ASSET_CACHE_CONTROL, cacheControlFor, isPageNavigation, PAGE_CACHE_CONTROL } from './web.policy.ts'

const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'

describe('web UI policy', () => {
  it('answers browser navigations to client routes with the page', () => {
    for (const url of ['/', '/files', '/jobs/0b6c1f3e-0000-4000-8000-000000000000', '/account?tab=keys', '/admin/audit']) {
      assert.equal(isPageNavigation('GET', url, HTML), true, url)
    }
    assert.equal(isPageNavigation('HEAD', '/files', HTML), true)
  })

  it('leaves the API, docs, probes, metrics, assets and file names alone', () => {
    for (const url of ['/api/v1/nothing', '/api', '/v1/models/x', '/docs/x', '/openapi.json', '/healthz', '/readyz', '/metrics/x', '/assets/gone-abc.js', '/favicon.ico', '/x/y.map', '//evil.example/a']) {
      assert.equal(isPageNavigation('GET', url, HTML), false, url)
    }
  })

  it('leaves requests that are not navigations alone', () => {
    assert.equal(isPageNavigation('POST', '/files', HTML), false)
    assert.equal(isPageNavigation('GET', '/files', 'application/json'), false)
    assert.equal(isPageNavigation('GET', '/files', undefined), false)
  })

  it('caches hashed assets for a year and revalidates the rest', () => {
    assert.equal(cacheControlFor('assets/index-3f2a.js'), ASSET_CACHE_CONTROL)
    assert.equal(cacheControlFor('favicon.svg'), PAGE_CACHE_CONTROL)
    assert.equal(cacheControlFor('assetsx/a.js'), PAGE_CACHE_CONTROL)
  })
})
