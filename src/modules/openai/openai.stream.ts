import { PassThrough, type Readable } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'

// Proxies close connections that stay silent; a comment line keeps a slow recognition open
// (OpenAI's client skips comments, as every EventSource parser does).
const KEEP_ALIVE_MS = 15_000

/**
 * OpenAI's stream format: each event as one `data:` line of JSON, no event names or ids (its
 * client reads `data` alone). Ends when the events do; when the client goes away first, the
 * events are told to stop (their generator's `finally` runs). A failure of the events
 * themselves ends the stream with an error event, which the client throws; the log has it.
 */
export function serverSentEvents (events: AsyncGenerator<object>, options: { log: FastifyBaseLogger, keepAliveMs?: number }): Readable {
  const stream = new PassThrough()
  const keepAlive = setInterval(() => { stream.write(': keep-alive\n\n') }, options.keepAliveMs ?? KEEP_ALIVE_MS)
  let closed = false
  stream.once('close', () => {
    closed = true
    clearInterval(keepAlive)
    void events.return(undefined).catch(() => {})
  })
  void (async () => {
    try {
      for await (const event of events) {
        if (closed) return
        stream.write(`data: ${JSON.stringify(event)}\n\n`)
      }
    } catch (error) {
      options.log.error({ err: error }, 'streaming a transcription failed')
      if (!closed) stream.write(`data: ${JSON.stringify({ type: 'error', error: { message: 'The transcription failed unexpectedly.', type: 'server_error', code: null } })}\n\n`)
    } finally {
      clearInterval(keepAlive)
    }
    stream.end()
  })()
  return stream
}
