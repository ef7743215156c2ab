import dns from 'node:dns'
import type { LookupFunction } from 'node:net'
import { pipeline } from 'node:stream/promises'
import { parse as parseContentDisposition } from 'content-disposition'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, buildConnector, type Dispatcher, request } from 'undici'
import type { Workspace } from '../../../storage/storage.ts'
import { addressProblem, literalAddress, parseImportUrl, type ImportUrlPolicy } from './address-policy.ts'
import { ImportError } from './import-error.ts'

export interface FetchToFileOptions extends ImportUrlPolicy {
  maxBytes: number
  /** The workspace `destPath` lies in. */
  files: Pick<Workspace, 'writer' | 'remove'>
  /** Skips the address policy entirely (tests, trusted LAN deployments). */
  allowPrivate: boolean
  /** Also the time every failure to connect takes to be reported (see `unreachable`). */
  connectTimeoutMs?: number
  /** Time to the response headers, and the longest silence between body chunks. */
  headersTimeoutMs?: number
  totalTimeoutMs?: number
  maxRedirects?: number
  lookup?: typeof dns.lookup
  /** Policy override for tests: returns a reason to refuse, or undefined to allow. */
  addressAllowed?: (ip: string) => string | undefined
  signal?: AbortSignal
}

export interface FetchedFile {
  bytes: number
  finalUrl: string
  contentType: string | undefined
  suggestedName: string | undefined
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])

/**
 * Downloads `url` into a new file at `destPath` without letting the URL reach anything but
 * public unicast addresses. Each hop is judged by the address the socket actually connects
 * to: the agent's `lookup` resolves, checks and hands Node only the checked addresses, so a
 * DNS answer cannot change between the check and the connect (rebinding). IP-literal hosts
 * never reach `lookup` (Node skips it), so they are checked before the request.
 */
export async function fetchToFile (url: string, destPath: string, options: FetchToFileOptions): Promise<FetchedFile> {
  let current = parseImportUrl(url, options)
  const judge = options.allowPrivate ? undefined : (options.addressAllowed ?? addressProblem)
  const maxRedirects = options.maxRedirects ?? 3
  const headersTimeoutMs = options.headersTimeoutMs ?? 15_000
  const totalTimeoutMs = options.totalTimeoutMs ?? 60_000
  const deadline = AbortSignal.timeout(totalTimeoutMs)
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline

  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000
  let refusal: ImportError | undefined
  // Hosts this fetch reached: a failure before that is a connect-stage failure.
  const connected = new Set<string>()
  const connector = buildConnector({
    timeout: connectTimeoutMs,
    lookup: checkedLookup(options.lookup ?? dns.lookup, judge, (error) => { refusal = error })
  })
  const agent = new Agent({
    connect: (connectOptions, callback) => connector(connectOptions, (error, socket) => {
      if (!error) connected.add(connectOptions.hostname)
      callback(error, socket as never)
    }),
    headersTimeout: headersTimeoutMs,
    bodyTimeout: headersTimeoutMs
  })

  let created = false
  // A local failure (destPath exists, disk full) is the server's problem, not the remote's:
  // it is passed on unchanged rather than reported to the client as a network error.
  let diskError: unknown
  const onDisk = (error: unknown): never => {
    diskError = error
    throw error
  }
  let hopStarted = performance.now()
  try {
    for (let redirects = 0; ; redirects++) {
      const literal = literalAddress(current)
      const problem = literal === undefined ? undefined : judge?.(literal)
      if (problem) throw new ImportError('address', `${current.hostname} is not a public address (${problem})`)

      const response = await request(current, {
        dispatcher: agent,
        method: 'GET',
        signal,
        // identity: a compressed body would be stored as-is and its size cap meaningless.
        headers: { accept: '*/*', 'accept-encoding': 'identity', 'user-agent': 'Tympan-Import' }
      })
      const status = response.statusCode
      const location = header(response.headers, 'location')
      if (REDIRECT_STATUSES.has(status) && location !== undefined) {
        discard(response.body)
        if (redirects >= maxRedirects) {
          throw new ImportError('redirects', `${current.hostname} redirected more than ${maxRedirects} times`)
        }
        current = redirectTarget(current, location, options)
        hopStarted = performance.now()
        continue
      }
      if (status < 200 || status > 299) {
        discard(response.body)
        throw new ImportError('http_status', `${current.hostname} answered with HTTP status ${status}`)
      }
      const declared = Number(header(response.headers, 'content-length'))
      if (declared > options.maxBytes) {
        discard(response.body)
        throw tooLarge(current, options.maxBytes)
      }

      const file = await options.files.writer(destPath).catch(onDisk)
      created = true
      let bytes = 0
      let remoteError: unknown
      // Reading chunk by chunk is what lets the cap stop the download, not just the file.
      await pipeline(async function * () {
        try {
          for await (const chunk of response.body as AsyncIterable<Buffer>) {
            bytes += chunk.length
            if (bytes > options.maxBytes) throw tooLarge(current, options.maxBytes)
            yield chunk
          }
        } catch (error) {
          remoteError = error
          throw error
        }
      }, file).catch((error: unknown) => error === remoteError ? Promise.reject(error) : onDisk(error))
      return {
        bytes,
        finalUrl: current.href,
        contentType: header(response.headers, 'content-type'),
        suggestedName: suggestedName(header(response.headers, 'content-disposition'), current)
      }
    }
  } catch (error) {
    if (created) await options.files.remove(destPath)
    if (error instanceof ImportError) throw error
    if (diskError !== undefined && error === diskError) throw error
    if (refusal) throw refusal
    if (options.signal?.aborted) throw options.signal.reason
    if (deadline.aborted) throw new ImportError('timeout', `${current.hostname} did not finish sending within ${totalTimeoutMs / 1000} s`, { cause: error })
    if (!connected.has(current.hostname)) {
      // Refused, reset, unreachable, timed out, no such name, TLS handshake failed: one answer,
      // given after the connect timeout whatever happened, so that neither the text nor the
      // time it took tells a client which hosts and ports answer. The cause goes to the log.
      await sleep(hopStarted + connectTimeoutMs - performance.now(), undefined, options.signal ? { signal: options.signal } : {}).catch(() => {})
      options.signal?.throwIfAborted()
      throw new ImportError('unreachable', `Could not connect to ${current.hostname}`, { cause: error })
    }
    throw failure(error, current.hostname)
  } finally {
    await agent.destroy()
  }
}

/**
 * A `lookup` for sockets that resolves, judges every answer and hands on only checked
 * addresses, so the socket connects to what was checked. Shared with the yt-dlp proxy.
 */
export function checkedLookup (
  resolve: typeof dns.lookup,
  judge: ((ip: string) => string | undefined) | undefined,
  onRefusal: (error: ImportError) => void
): LookupFunction {
  return (hostname, lookupOptions, callback) => {
    resolve(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) return callback(error, '')
      if (addresses.length === 0) return callback(Object.assign(new Error(`No address for ${hostname}`), { code: 'ENOTFOUND' }), '')
      // One bad answer refuses the host: a name that also points inward is not an honest file server.
      for (const { address } of addresses) {
        const problem = judge?.(address)
        if (problem) {
          const refusal = new ImportError('address', `${hostname} resolves to a non-public address (${problem})`)
          onRefusal(refusal)
          return callback(refusal, '')
        }
      }
      if (lookupOptions.all) return callback(null, addresses)
      const [first] = addresses as [dns.LookupAddress]
      callback(null, first.address, first.family)
    })
  }
}

function redirectTarget (from: URL, location: string, options: ImportUrlPolicy): URL {
  let target: string
  try {
    target = new URL(location, from).href
  } catch {
    throw new ImportError('invalid_url', `${from.hostname} redirected to an invalid URL`)
  }
  try {
    return parseImportUrl(target, options)
  } catch (error) {
    if (error instanceof ImportError) throw new ImportError(error.code, `Redirect from ${from.hostname} refused: ${error.message}`)
    throw error
  }
}

/**
 * Drops a body nobody will read (redirect, error, oversize) without waiting for it: a server
 * could stall it forever. undici reports the destroy as an 'error', which is expected here.
 */
function discard (body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {})
  body.destroy()
}

const tooLarge = (url: URL, maxBytes: number) =>
  new ImportError('too_large', `The file at ${url.hostname} is larger than the ${maxBytes} byte limit`)

function failure (error: unknown, hostname: string): ImportError {
  const code = (error as { code?: unknown } | null)?.code
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new ImportError('timeout', `${hostname} stopped answering`, { cause: error })
  }
  return new ImportError('network', `Could not fetch from ${hostname}`, { cause: error })
}

function header (headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

/**
 * Pure: a display name for the imported file, from Content-Disposition or else the last path
 * segment. It is only ever shown, never used as a path, but still loses directories and
 * control characters so it cannot mislead a UI or a log line.
 */
export function suggestedName (contentDisposition: string | undefined, url: URL): string | undefined {
  let name: string | undefined
  if (contentDisposition !== undefined) {
    try {
      name = parseContentDisposition(contentDisposition).parameters.filename
    } catch {
      // A malformed header is common enough; fall back to the URL.
    }
  }
  if (!name) {
    const segment = url.pathname.split('/').pop() ?? ''
    try {
      name = decodeURIComponent(segment)
    } catch {
      name = segment
    }
  }
  const cleaned = (name.split(/[/\\]/).pop() ?? '').replace(/\p{Cc}/gu, '').trim().slice(0, 200)
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? undefined : cleaned
}
