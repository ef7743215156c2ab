import path from 'node:path'
import { ProcessError, runProcess } from '../../../process/run-process.ts'
import type { Workspace } from '../../../storage/storage.ts'
import { allowedPorts, type ImportUrlPolicy } from './address-policy.ts'
import { startConnectProxy, type ConnectProxyOptions } from './connect-proxy.ts'
import { ImportError } from './import-error.ts'

export interface MediaDownloadOptions {
  maxBytes: number
  timeoutMs: number
  signal?: AbortSignal
}

export interface MediaDownloader {
  handles (url: URL): boolean
  download (url: URL, destDir: string, opts: MediaDownloadOptions): Promise<{ path: string, name: string }>
}

const normaliseHost = (host: string) => host.toLowerCase().replace(/\.$/, '').replace(/^\./, '')

/** Pure: does `url` belong to one of `hosts` or a subdomain of one (www.youtube.com under youtube.com)? */
export function hostListed (url: URL, hosts: readonly string[]): boolean {
  const host = normaliseHost(url.hostname)
  return hosts.some((listed) => {
    const entry = normaliseHost(listed)
    return entry !== '' && (host === entry || host.endsWith(`.${entry}`))
  })
}

/**
 * Pure: yt-dlp's argv. `--ignore-config` keeps a system or user config (which may hold
 * `--exec`) out of a server process; the generic extractor is disabled so a listed host
 * cannot hand yt-dlp an arbitrary page to crawl; `--` stops the URL being read as an option.
 * Every connection goes through `proxy` (the address policy), and the native downloader
 * keeps ffmpeg from fetching HLS/DASH segments on its own connections.
 */
export function buildYtDlpArgs (url: URL, destDir: string, maxBytes: number, proxy: string): string[] {
  return [
    '--ignore-config',
    '--proxy', proxy,
    '--downloader', 'native',
    '--use-extractors', 'default,-generic',
    '--no-playlist',
    '-x', '--audio-format', 'best',
    '--max-filesize', String(maxBytes),
    '--no-part',
    '--restrict-filenames',
    '-o', path.join(destDir, '%(id)s.%(ext)s'),
    '--print', 'after_move:filepath',
    '--',
    url.href
  ]
}

const OUTPUT_LIMIT = 64 * 1024

interface RunResult { exitCode: number | null, stdout: string, stderr: string }

/**
 * Runs the tool through the process runner, whose group kill on timeout also ends the ffmpeg
 * it starts. Only the tail of its output is kept: the path it prints comes last.
 */
async function run (binary: string, args: string[], timeoutMs: number, signal: AbortSignal | undefined, host: string): Promise<RunResult> {
  try {
    const { exitCode, stdout, stderr } = await runProcess(binary, args, {
      timeoutMs, maxOutput: OUTPUT_LIMIT, keep: 'tail', allowFailure: true, ...(signal ? { signal } : {})
    })
    return { exitCode, stdout, stderr }
  } catch (error) {
    if (!(error instanceof ProcessError)) throw error
    if (error.kind === 'aborted') throw signal?.reason
    if (error.kind === 'timeout') throw new ImportError('timeout', `Downloading from ${host} took longer than ${timeoutMs / 1000} s`)
    if (error.kind === 'missing') throw new ImportError('media_tool_missing', `Importing from ${host} needs yt-dlp: apt-get install yt-dlp, and list the host in IMPORT_MEDIA_HOSTS`)
    throw new ImportError('network', `Could not download from ${host}`, { cause: error.cause })
  }
}

export interface MediaDownloaderOptions extends ImportUrlPolicy, Pick<ConnectProxyOptions, 'allowPrivate' | 'addressAllowed' | 'lookup' | 'onRefusal'> {
  hosts: string[]
  binary?: string
  /** The workspace holding the download directories: yt-dlp writes there, we check and clean up. */
  files: Pick<Workspace, 'size' | 'remove'>
}

/** Adapter for yt-dlp, for media pages (YouTube and the like) that are not plain files. */
export function mediaDownloader (options: MediaDownloaderOptions): MediaDownloader {
  const binary = options.binary ?? 'yt-dlp'
  const { allowPrivate, addressAllowed, lookup, onRefusal } = options
  const proxyOptions: ConnectProxyOptions = {
    allowedPorts: allowedPorts(options),
    allowPrivate,
    ...(addressAllowed ? { addressAllowed } : {}),
    ...(lookup ? { lookup } : {}),
    ...(onRefusal ? { onRefusal } : {})
  }
  return {
    handles: (url) => hostListed(url, options.hosts),

    async download (url, destDir, opts) {
      opts.signal?.throwIfAborted()
      const host = url.hostname
      // One proxy, with its own secret, per download, gone when yt-dlp is.
      const proxy = await startConnectProxy(proxyOptions)
      const result = await run(binary, buildYtDlpArgs(url, destDir, opts.maxBytes, proxy.url), opts.timeoutMs, opts.signal, host)
        .finally(() => proxy.close())
      const printed = result.stdout.trim().split('\n').pop()?.trim() ?? ''
      const file = path.resolve(destDir, printed)
      // yt-dlp's stderr and exit code stay in `cause`, for the log, never in the client message.
      const cause = { exitCode: result.exitCode, stderr: result.stderr.slice(-2000) }
      if (result.exitCode !== 0 || printed === '' || path.dirname(file) !== path.resolve(destDir)) {
        if (printed !== '' && path.dirname(file) === path.resolve(destDir)) await options.files.remove(file)
        throw new ImportError('network', `Could not download media from ${host}`, { cause })
      }
      // --max-filesize only applies when the size is known up front; check what arrived.
      const size = await options.files.size(file)
      if (size > opts.maxBytes) {
        await options.files.remove(file)
        throw new ImportError('too_large', `The media at ${host} is larger than the ${opts.maxBytes} byte limit`)
      }
      return { path: file, name: path.basename(file) }
    }
  }
}
