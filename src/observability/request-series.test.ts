import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Counter, Histogram, Registry, type OpenMetricsContentType } from 'prom-client'
import { requestSeries } from './request-series.ts'

const BUCKETS = [0.005, 0.01, 0.1, 1, 10]
// On a bound, between bounds, above the highest, zero.
const OBSERVATIONS: [string, string, number, number][] = [
  ['GET', '/api/v1/me', 200, 0.005], ['GET', '/api/v1/me', 200, 0.0051], ['GET', '/api/v1/me', 200, 0.3],
  ['GET', '/api/v1/me', 401, 0], ['POST', '/api/v1/files', 201, 12.5], ['GET', 'unmatched', 404, 1],
  ['GET', '/api/v1/me', 200, 10]
]

// prom-client's types tie a registry to one content type; the functions under test take either.
function openMetricsRegistry (): Registry {
  const registry = new Registry<OpenMetricsContentType>()
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
  return registry as unknown as Registry
}

/** The same observations through prom-client's own Counter and Histogram. */
function promClientText (openMetrics = false): Promise<string> {
  const registry = openMetrics ? openMetricsRegistry() : new Registry()
  const labelNames = ['method', 'route', 'status'] as const
  const counter = new Counter({ name: 'http_requests_total', help: 'HTTP requests answered, by method, route pattern and status', labelNames, registers: [registry] })
  const histogram = new Histogram({
    name: 'http_request_duration_seconds', help: 'Time from the request arriving to the response being sent, by method, route pattern and status', labelNames, buckets: BUCKETS, registers: [registry]
  })
  for (const [method, route, status, seconds] of OBSERVATIONS) {
    counter.inc({ method, route, status: String(status) })
    histogram.observe({ method, route, status: String(status) }, seconds)
  }
  return registry.metrics()
}

describe('requestSeries', () => {
  it('exposes exactly what prom-client writes for the same counter and histogram', async () => {
    const registry = new Registry()
    const series = requestSeries(registry, BUCKETS)
    for (const [method, route, status, seconds] of OBSERVATIONS) series.observe(method, route, status, seconds)
    assert.equal(await registry.metrics(), await promClientText())
  })

  it('writes the same OpenMetrics text as prom-client (one _total on the counter)', async () => {
    const registry = openMetricsRegistry()
    const series = requestSeries(registry, BUCKETS)
    for (const [method, route, status, seconds] of OBSERVATIONS) series.observe(method, route, status, seconds)
    assert.equal(await registry.metrics(), await promClientText(true))
  })

  it('ignores an observation that is not a finite number (prom-client would throw on the request path)', async () => {
    const registry = new Registry()
    const series = requestSeries(registry, BUCKETS)
    series.observe('GET', '/x', 200, 0.02)
    series.observe('GET', '/x', 200, Number.NaN)
    series.observe('GET', '/x', 200, Number.POSITIVE_INFINITY)
    const text = await registry.metrics()
    assert.match(text, /http_request_duration_seconds_sum\{method="GET",route="\/x",status="200"\} 0\.02\n/)
    assert.match(text, /http_requests_total\{method="GET",route="\/x",status="200"\} 1\n/)
  })

  it('starts empty, and is emptied by registry.resetMetrics()', async () => {
    const registry = new Registry()
    const series = requestSeries(registry, BUCKETS)
    const empty = await registry.metrics()
    assert.match(empty, /# TYPE http_requests_total counter/)
    assert.doesNotMatch(empty, /http_requests_total\{/)
    series.observe('GET', '/healthz', 200, 0.001)
    assert.match(await registry.metrics(), /http_requests_total\{method="GET",route="\/healthz",status="200"\} 1/)
    registry.resetMetrics()
    assert.equal(await registry.metrics(), empty)
    series.observe('GET', '/healthz', 200, 0.001)
    assert.match(await registry.metrics(), /http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} 1/)
  })

  it('reads the metrics as JSON as prom-client does (name, type, values)', async () => {
    const registry = new Registry()
    requestSeries(registry, BUCKETS).observe('GET', '/x', 200, 0.02)
    const json = await registry.getMetricsAsJSON()
    const counter = json.find((metric) => metric.name === 'http_requests_total')
    assert.equal(String(counter?.type), 'counter')
    assert.deepEqual(counter?.values, [{ labels: { method: 'GET', route: '/x', status: '200' }, value: 1 }])
  })
})
