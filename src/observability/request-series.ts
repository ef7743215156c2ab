import type { Metric, Registry } from 'prom-client'

type Labels = { method: string, route: string, status: string }
/** One sample line, as the registry reads it from a metric's get(). */
interface Sample { metricName?: string, labels: Record<string, string | number>, value: number }

interface Series {
  labels: Labels
  count: number
  sum: number
  /** Observations per bucket, not cumulative; the last slot is above the highest bound (+Inf only). */
  perBucket: Float64Array
}

export interface RequestSeries {
  observe (method: string, route: string, status: number, seconds: number): void
}

/**
 * `http_requests_total` and `http_request_duration_seconds`, counted in plain numbers and
 * handed to the registry as a counter and a histogram when it is scraped, in the text
 * prom-client writes for its own (a test compares the two). Written here because prom-client
 * validates, builds and hashes a label object on every inc() and observe(), on a child made
 * with labels() too: ~950 ns a request against ~30 here (measured in a loop of 2 million),
 * paid on every request; a scrape pays for the text now and then.
 * Routes are patterns and statuses few, so the series are as few as prom-client's would be.
 */
export function requestSeries (registry: Registry, buckets: readonly number[]): RequestSeries {
  const bounds = [...buckets].sort((a, b) => a - b)
  const all: Series[] = []
  const index = new Map<string, Map<string, Map<number, Series>>>()

  const seriesOf = (method: string, route: string, status: number): Series => {
    let byMethod = index.get(route)
    if (!byMethod) index.set(route, (byMethod = new Map()))
    let byStatus = byMethod.get(method)
    if (!byStatus) byMethod.set(method, (byStatus = new Map()))
    let found = byStatus.get(status)
    if (!found) {
      found = { labels: { method, route, status: String(status) }, count: 0, sum: 0, perBucket: new Float64Array(bounds.length + 1) }
      byStatus.set(status, found)
      all.push(found)
    }
    return found
  }

  const counter = metric('http_requests_total', 'HTTP requests answered, by method, route pattern and status', 'counter',
    () => all.map((series) => ({ labels: series.labels, value: series.count })))
  const histogram = metric('http_request_duration_seconds', 'Time from the request arriving to the response being sent, by method, route pattern and status', 'histogram',
    () => all.flatMap((series) => {
      const name = 'http_request_duration_seconds'
      const values: Sample[] = []
      let cumulative = 0
      bounds.forEach((le, i) => {
        cumulative += series.perBucket[i] as number
        values.push({ metricName: `${name}_bucket`, labels: { le, ...series.labels }, value: cumulative })
      })
      values.push(
        { metricName: `${name}_bucket`, labels: { le: '+Inf', ...series.labels }, value: series.count },
        { metricName: `${name}_sum`, labels: series.labels, value: series.sum },
        { metricName: `${name}_count`, labels: series.labels, value: series.count }
      )
      return values
    }))
  registry.registerMetric(counter)
  registry.registerMetric(histogram)

  return {
    observe (method, route, status, seconds) {
      // prom-client throws on these; one bad clock reading must not poison _sum for good.
      if (!Number.isFinite(seconds)) return
      const series = seriesOf(method, route, status)
      series.count++
      series.sum += seconds
      // prom-client's rule: an observation counts in the first bucket whose bound it does not exceed.
      let i = 0
      while (i < bounds.length && seconds > (bounds[i] as number)) i++
      series.perBucket[i]!++
    }
  }

  /** What the registry reads of a metric: its description, get() for the samples, reset(). */
  // The name is read at each get(): an OpenMetrics registry strips a counter's `_total` from
  // it (and writes it back on each sample), as it does for prom-client's own counters.
  // reset() (registry.resetMetrics) empties both metrics: they share the series.
  function metric (name: string, help: string, type: 'counter' | 'histogram', values: () => Sample[]): Metric {
    const described = {
      name,
      help,
      type,
      aggregator: 'sum' as const,
      get: async () => ({ name: described.name, help, type, aggregator: described.aggregator, values: values() }),
      reset: () => {
        all.length = 0
        index.clear()
      }
    }
    return described as unknown as Metric
  }
}
