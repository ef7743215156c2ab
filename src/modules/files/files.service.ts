import { randomUUID } from 'node:crypto'
import type { Readable } from 'node:stream'
import { fileTypeFromFile } from 'file-type'
import type { Config } from '../../config/config.ts'
import type { AudioFile, AudioFormat } from '../../db/schema.ts'
import { rejectedFor, type Metrics } from '../../observability/metrics.ts'
import { badRequest, HttpProblem, notFound, unprocessable } from '../../http/problem.ts'
import { DEFAULT_AUDIO_LIMITS, durationUnknown, judgeAudio, judgeWavHeader, walkWav, wavRunsToEnd } from '../../media/audio-policy.ts'
import { AUDIO_FORMATS, contentTypeOf, formatFromName, magicMatches, MAX_CLIENT_NAME_BYTES, sanitiseFileName } from '../../media/formats.ts'
import type { MediaTools } from '../../media/probe.ts'
import type { ByteRange, Storage, Workspace } from '../../storage/storage.ts'
import { mayAccessOwned, type OwnedAccess } from '../../access/ownership.ts'
import type { Principal } from '../../access/permissions.ts'
import type { FilesRepository } from './files.repository.ts'
import { decodeCursor, encodeCursor } from '../../http/cursor.ts'
import { page, withLookahead } from '../../db/keyset.ts'
import { stageStream, type Staged } from './staging.ts'
import { opened } from '../../storage/opened.ts'

export interface PublicFile {
  id: string
  name: string
  format: AudioFormat
  contentType: string
  size: number
  sha256: string
  durationSec: number
  sampleRate: number
  channels: number
  codec: string
  source: AudioFile['source']
  createdAt: string
  expiresAt: string
}

export function toPublicFile (file: AudioFile): PublicFile {
  return {
    id: file.id,
    name: file.name,
    format: file.format,
    contentType: file.content_type,
    size: Number(file.size),
    sha256: file.sha256,
    durationSec: file.duration_sec,
    sampleRate: file.sample_rate,
    channels: file.channels,
    codec: file.codec,
    source: file.source,
    createdAt: file.created_at.toISOString(),
    expiresAt: file.expires_at.toISOString()
  }
}

export const unsupportedMediaType = (detail: string) => new HttpProblem(415, 'Unsupported Media Type', detail)
export const contentTooLarge = (detail: string, extra?: Record<string, unknown>) => new HttpProblem(413, 'Content Too Large', detail, { extra })

const ALLOWED_LIST = AUDIO_FORMATS.map((f) => `.${f}`).join(' ')
const MB = 1024 * 1024

export interface FilesDeps {
  config: Config
  files: FilesRepository
  storage: Storage
  workspace: Workspace
  media: MediaTools
  /** Counts each refusal of accept() by reason (the routes count what they refuse before it). */
  metrics?: Pick<Metrics, 'uploadRefused'>
}

export function filesService (deps: FilesDeps) {
  const { config, files, storage, workspace, media } = deps
  const limits = { maxDurationSec: config.intake.maxDurationSec, ...DEFAULT_AUDIO_LIMITS }

  const quotaOf = (principal: Principal): number => config.intake.quotaBytes[principal.tier]

  /** Step 3: what ffprobe reads (and, for a length it does not state, a full decode measures), judged by the policy. */
  async function probeAndJudge (staged: Staged, format: AudioFormat, untilEnd: boolean) {
    const probe = await media.probe(staged.path)
    if (!probe) throw rejectedFor('decode', unprocessable(`The file could not be read as ${format.toUpperCase()} audio`))
    const unknown = durationUnknown(probe, untilEnd)
    const measured = unknown ? await media.measure(staged.path, limits.maxDurationSec) : undefined
    if (unknown && !measured) throw rejectedFor('decode', unprocessable('The file does not state its length, and it does not decode for it to be measured'))
    const verdict = judgeAudio(probe, staged.size, limits, measured)
    if ('problem' in verdict) throw rejectedFor(verdict.overLimit ?? 'decode', unprocessable(verdict.problem))
    return verdict
  }

  async function mustFind (principal: Principal, id: string, access: OwnedAccess = 'read'): Promise<AudioFile> {
    // An expired file is gone for its owner at once, not at the next sweep.
    const file = await files.findLive(id)
    // A file the principal may not reach is indistinguishable from a missing one.
    if (!file || !mayAccessOwned(principal, file.owner_id, access)) throw notFound('File')
    return file
  }

  return {
    /** How much of a refused upload's body is read and discarded before the answer (multipart-upload.ts). */
    uploadDrain: { maxBytes: config.intake.drainMaxBytes, timeoutMs: config.intake.drainTimeoutMs },

    /**
     * Step 1, before any byte is stored: the name must be at most MAX_CLIENT_NAME_BYTES long
     * (checked first, so no later step spends time on a huge one) and its last extension
     * must be on the allow-list.
     */
    formatForName (rawName: string): AudioFormat {
      const bytes = Buffer.byteLength(rawName)
      if (bytes > MAX_CLIENT_NAME_BYTES) {
        throw rejectedFor('name', badRequest(`The file name is too long: ${bytes} bytes of UTF-8, the limit is ${MAX_CLIENT_NAME_BYTES}`, { maxNameBytes: MAX_CLIENT_NAME_BYTES }))
      }
      const format = formatFromName(rawName)
      if (!format) throw rejectedFor('extension', unsupportedMediaType(`File type not allowed: the name must end in one of ${ALLOWED_LIST}`))
      return format
    },

    /**
     * How many bytes this principal may still send: the file cap, or less when the quota is
     * nearer. Open resumable uploads count in full (their declared size is reserved).
     */
    async uploadAllowance (principal: Principal): Promise<{ maxBytes: number, quotaLimited: boolean, remainingBytes: number }> {
      const quota = quotaOf(principal)
      const remaining = quota > 0 ? Math.max(0, quota - await files.usedBytes(principal.userId)) : Number.POSITIVE_INFINITY
      const maxBytes = Math.min(config.intake.maxFileBytes, remaining)
      return { maxBytes, quotaLimited: remaining < config.intake.maxFileBytes, remainingBytes: remaining }
    },

    sizeProblem (allowance: { maxBytes: number, quotaLimited: boolean, remainingBytes: number }): HttpProblem {
      return allowance.quotaLimited
        ? rejectedFor('quota', contentTooLarge(`Storage quota exceeded: ${(allowance.remainingBytes / MB).toFixed(1)} MB of your quota remain`, { remainingBytes: allowance.remainingBytes }))
        : rejectedFor('size', contentTooLarge(`The file exceeds the ${config.intake.maxFileBytes / MB} MB limit`))
    },

    /** Streams incoming bytes into a staged file, at most `maxBytes` (StagingLimitError past it). */
    stage: (source: Readable, maxBytes: number): Promise<Staged> => stageStream(workspace, source, maxBytes, storage),

    /** Removes a staged file that will not be accepted. */
    async discard (staged: Staged): Promise<void> {
      await Promise.all([workspace.remove(staged.path), staged.receiving?.object.discard()])
    },

    /**
     * Steps 2–3 on a fully staged file, then the commit. Whatever fails, the staged bytes are
     * removed: nothing of a rejected upload stays.
     */
    async accept (principal: Principal, staged: Staged, input: { name: string, source: AudioFile['source'], sourceUrl?: string, resumableId?: string }): Promise<AudioFile> {
      let committed = false
      try {
        const format = this.formatForName(input.name)
        if (staged.size === 0) throw rejectedFor('decode', unprocessable('The file is empty'))
        const detected = await fileTypeFromFile(staged.path)
        if (!magicMatches(format, detected?.ext)) {
          throw rejectedFor('magic', unsupportedMediaType(detected
            ? `The content is ${detected.ext.toUpperCase()}, not ${format.toUpperCase()}: the name's extension must match the bytes`
            : `The content is not ${format.toUpperCase()} audio (unrecognised bytes)`))
        }
        const wav = format === 'wav' ? await workspace.withReader(staged.path, (readAt) => walkWav(readAt, staged.size)) : undefined
        const forged = judgeWavHeader(wav, staged.size)
        if (forged) throw rejectedFor('decode', unprocessable(forged))
        // Past the cheap checks, the write-back to disk (about 0.3 s a GiB) runs while the tools
        // read the file, and the commit awaits it. A refusal by the tools does not wait for it
        // (its open handle keeps the removed file until it is done) and ignores its failure.
        // A file also received as an object is not stored itself: nothing to write back.
        const flushed = staged.receiving ? Promise.resolve() : workspace.flushAhead(staged.path)
        flushed.catch(() => {})
        const untilEnd = wavRunsToEnd(wav)
        // The decode check runs beside ffprobe rather than after it (each about 0.1-0.4 s, most
        // of it starting the process); its verdict still counts only after ffprobe's and the
        // policy's, and a refusal by those stops it.
        const stopDecoding = new AbortController()
        const judging = probeAndJudge(staged, format, untilEnd)
        const decoding = media.decodes(staged.path, untilEnd, stopDecoding.signal)
        decoding.catch(() => {})
        const verdict = await judging.catch((error: unknown) => {
          stopDecoding.abort()
          throw error
        })
        if (!await decoding) throw rejectedFor('decode', unprocessable('The audio is corrupt: it does not decode cleanly'))

        // Sanitising can eat the extension ("....mp3" → "mp3"); the stored name keeps the format.
        const cleanName = sanitiseFileName(input.name, `audio.${format}`)
        const id = staged.receiving?.id ?? randomUUID()
        const now = new Date()
        const inserted = await files.insertWithinQuota({
          id,
          owner_id: principal.userId,
          name: formatFromName(cleanName) === format ? cleanName : `audio.${format}`,
          format,
          content_type: contentTypeOf(format),
          size: staged.size,
          sha256: staged.sha256,
          duration_sec: verdict.facts.durationSec,
          sample_rate: verdict.facts.sampleRate,
          channels: verdict.facts.channels,
          codec: verdict.facts.codec,
          source: input.source,
          source_url: input.sourceUrl ?? null,
          created_at: now,
          expires_at: new Date(now.getTime() + config.intake.retentionHours * 3_600_000)
        }, quotaOf(principal), input.resumableId ? { replacingUpload: input.resumableId } : {})
        if (!('file' in inserted)) {
          const remaining = Math.max(0, quotaOf(principal) - inserted.usedBytes)
          throw rejectedFor('quota', contentTooLarge(`Storage quota exceeded: ${(remaining / MB).toFixed(1)} MB of your quota remain`, { remainingBytes: remaining }))
        }
        try {
          if (staged.receiving) {
            await staged.receiving.object.commit()
          } else {
            await flushed
            await workspace.store(staged.path, id)
          }
          committed = true
        } catch (error) {
          await files.delete(id)
          throw error
        }
        return inserted.file
      } catch (error) {
        deps.metrics?.uploadRefused(error)
        throw error
      } finally {
        // A received object leaves the staged file behind (its plaintext, when encrypted).
        if (!committed) await this.discard(staged)
        else if (staged.receiving) await workspace.remove(staged.path)
      }
    },

    get: (principal: Principal, id: string) => mustFind(principal, id),

    async list (principal: Principal, limit: number, cursor?: string, nameContains?: string): Promise<{ items: AudioFile[], nextCursor: string | null }> {
      const rows = await files.list(principal.userId, withLookahead(limit), cursor ? decodeCursor(cursor) : undefined, undefined, nameContains)
      return page(rows, limit, encodeCursor)
    },

    async content (principal: Principal, id: string, range?: ByteRange) {
      const file = await mustFind(principal, id)
      // Opened first: a store that fails is answered with a problem, not a cut-off 200.
      return { file, stream: await opened(storage.read(file.id, range)) }
    },

    /** GDPR participant: the user's files, listed and erased with the account. */
    personalData: {
      section: 'files',
      // The import URL is kept on the row but not in the API shape: the export must include it.
      export: async (userId: string) => (await files.listAllForOwner(userId)).map((file) => ({ ...toPublicFile(file), sourceUrl: file.source_url })),
      async erase (userId: string) {
        for (const file of await files.listAllForOwner(userId)) {
          await files.delete(file.id)
          await storage.delete(file.id)
        }
      }
    },

    async delete (principal: Principal, id: string): Promise<AudioFile> {
      const file = await mustFind(principal, id, 'change')
      await files.delete(file.id)
      await storage.delete(file.id)
      return file
    }
  }
}

export type FilesService = ReturnType<typeof filesService>
