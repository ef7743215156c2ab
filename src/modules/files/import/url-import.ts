import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { fileTypeFromFile } from 'file-type'
import type { Config } from '../../../config/config.ts'
import { formatFromDetected, formatFromName } from '../../../media/formats.ts'
import type { Workspace } from '../../../storage/storage.ts'
import { describeStaged, STAGING, type Staged } from '../staging.ts'
import { parseImportUrl } from './address-policy.ts'
import { ImportError } from './import-error.ts'
import { hostListed, mediaDownloader } from './media-downloader.ts'
import { fetchToFile } from './safe-fetch.ts'

// Hosts whose URLs are web pages around the media, not audio files: fetching them would only
// bring HTML. They are imported through yt-dlp when the operator enables them.
const KNOWN_MEDIA_HOSTS = ['youtube.com', 'youtu.be', 'soundcloud.com', 'vimeo.com', 'bandcamp.com', 'mixcloud.com', 'dailymotion.com', 'twitch.tv']

export interface Imported {
  staged: Staged
  name: string
  sourceUrl: string
}

/**
 * Brings a remote file into staging: direct URLs through the SSRF-guarded fetcher, media
 * pages through yt-dlp. The result is judged by the same checks as an upload afterwards.
 */
export function urlImporter (config: Config, workspace: Workspace) {
  const policy = { allowHttp: config.intake.importAllowHttp, allowedPorts: config.intake.importAllowedPorts }
  const media = mediaDownloader({ hosts: config.intake.importMediaHosts, ...policy, allowPrivate: config.intake.importAllowPrivate, files: workspace })
  const timeoutMs = config.intake.importTimeoutMs

  return {
    async fetch (rawUrl: string, maxBytes: number): Promise<Imported> {
      const url = parseImportUrl(rawUrl, policy)
      const sourceUrl = url.toString()
      const work = await workspace.tempDir('imports', randomUUID())
      try {
        let file: string
        let name: string | undefined
        if (media.handles(url)) {
          const downloaded = await media.download(url, work, { maxBytes, timeoutMs })
          file = downloaded.path
          name = downloaded.name
        } else if (hostListed(url, KNOWN_MEDIA_HOSTS)) {
          throw new ImportError('media_disabled', `${url.hostname} serves web pages, not audio files. To import from it, install yt-dlp (apt-get install yt-dlp) and add ${url.hostname} to IMPORT_MEDIA_HOSTS`)
        } else {
          file = path.join(work, 'download')
          const fetched = await fetchToFile(sourceUrl, file, {
            maxBytes,
            files: workspace,
            ...policy,
            allowPrivate: config.intake.importAllowPrivate,
            totalTimeoutMs: timeoutMs
          })
          name = fetched.suggestedName
        }
        const staged = await describeStaged(workspace, await workspace.move(file, STAGING))
        return { staged, name: await nameFor(staged.path, name), sourceUrl }
      } finally {
        await workspace.remove(work)
      }
    }
  }
}

export type UrlImporter = ReturnType<typeof urlImporter>

/**
 * A URL often has no usable file name (`/stream?id=3`). Then the bytes name the format,
 * as long as it is one of the allowed seven; the extension rule still holds for the result.
 */
async function nameFor (stagedPath: string, suggested: string | undefined): Promise<string> {
  if (suggested && formatFromName(suggested)) return suggested
  const format = formatFromDetected((await fileTypeFromFile(stagedPath))?.ext)
  const stem = suggested ? path.parse(suggested).name || 'import' : 'import'
  return format ? `${stem}.${format}` : suggested ?? 'import'
}
