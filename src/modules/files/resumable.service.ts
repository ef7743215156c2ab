import type { Upload } from '@tus/server'
import type { Config } from '../../config/config.ts'
import type { AudioFile } from '../../db/schema.ts'
import { badRequest, HttpProblem } from '../../http/problem.ts'
import type { Principal } from '../../access/permissions.ts'
import { storageFailureKind } from '../../storage/storage-errors.ts'
import type { FilesService } from './files.service.ts'
import type { ResumableRepository } from './resumable.repository.ts'
import type { ResumableStore } from './resumable-store.ts'

const SWEEP_BATCH = 100

export interface ResumableServiceDeps {
  config: Config
  uploads: ResumableRepository
  files: Pick<FilesService, 'uploadAllowance' | 'sizeProblem' | 'formatForName' | 'accept'>
  /** The one tus data store of this process. */
  store: () => Promise<ResumableStore>
}

/**
 * The life of an open tus upload as the quota sees it. Each creation reserves its declared
 * Upload-Length in the database (so every process and every API node counts the same),
 * within the tier's cap of open uploads; the reservation ends when the upload becomes a file
 * (moved into the file row by `accept`), is terminated, goes idle or expires, or its owner
 * is erased.
 */
export function resumableService (deps: ResumableServiceDeps) {
  const { config, uploads } = deps

  const discardBytes = async (id: string) => { await (await deps.store()).discard(id) }
  // Reservation first: its quota is free at once, and a PATCH racing this is refused (404).
  const discard = async (id: string) => {
    await uploads.delete(id)
    await discardBytes(id)
  }

  /** Reserves a new upload's declared size; throws the problem to answer the creating POST. */
  async function open (principal: Principal, id: string, declaredSize: number | undefined): Promise<void> {
    // A deferred length cannot be reserved; counting it as a whole file cap instead would
    // let a few small deferred uploads block the quota of a free user.
    if (declaredSize === undefined) {
      throw badRequest('Upload-Length is required: the declared size is reserved against your storage quota, so Upload-Defer-Length is not supported')
    }
    const allowance = await deps.files.uploadAllowance(principal)
    if (declaredSize > allowance.maxBytes) throw deps.files.sizeProblem(allowance)
    const quotaBytes = config.intake.quotaBytes[principal.tier]
    const maxOpen = config.intake.resumableMaxOpen[principal.tier]
    const now = new Date()
    const result = await uploads.reserve({ id, owner_id: principal.userId, declared_size: declaredSize, created_at: now, last_activity_at: now }, { quotaBytes, maxOpen })
    if (result.reserved) return
    if ('openUploads' in result) {
      // 429, not 409: tus clients retry a 409 as an offset conflict, and would repeat the
      // refused creation; a 429 reaches the application with this text at once.
      throw new HttpProblem(429, 'Too Many Requests',
        `You have ${result.openUploads} open resumable uploads, the limit of the ${principal.tier} tier: finish one, or delete it (DELETE its upload URL), before starting another`,
        { extra: { limit: maxOpen, openUploads: result.openUploads } })
    }
    // Another upload of this user took the room between the allowance and the reservation.
    const remainingBytes = Math.max(0, quotaBytes - result.usedBytes)
    throw deps.files.sizeProblem({ maxBytes: Math.min(config.intake.maxFileBytes, remainingBytes), quotaLimited: true, remainingBytes })
  }

  return {
    /**
     * The creating POST: checks the name and reserves the declared size (throws the problem
     * to answer). Returns the metadata to store, with the owner written by the server over
     * anything the client put there.
     */
    async create (principal: Principal, upload: Upload): Promise<Record<string, string | null>> {
      const name = upload.metadata?.filename ?? upload.metadata?.name ?? ''
      deps.files.formatForName(name)
      await open(principal, upload.id, upload.size)
      return { ...upload.metadata, filename: name, owner: principal.userId }
    },

    /**
     * May `principal` send `method` to upload `id`? Another user's upload, or one that is no
     * longer open, is not found. A PATCH marks activity; a DELETE ends the reservation.
     */
    async admit (principal: Principal, method: string, id: string): Promise<boolean> {
      // The store failing is answered as such (503), not as an upload not found.
      const upload = await (await deps.store()).getUpload(id).catch((error: unknown) => {
        if (storageFailureKind(error)) throw error
        return undefined
      })
      if (upload?.metadata?.owner !== principal.userId) return false
      if (method === 'PATCH' && !await uploads.touch(id, new Date())) {
        // Not open in the database (swept a moment ago, or never reserved): not counted in
        // the quota, so it may not grow.
        await discard(id)
        return false
      }
      if (method === 'DELETE') await uploads.delete(id)
      return true
    },

    /**
     * A finished upload becomes a file with exactly the checks of a multipart upload; refused
     * or failed, its bytes and its reservation are gone. Until `forget`, the store answers
     * for it as finished (tus reads it once more after this in a creation-with-upload).
     */
    async finish (principal: Principal, upload: Upload): Promise<AudioFile> {
      const store = await deps.store()
      try {
        const staged = await store.collect(upload)
        // The reservation becomes the file's size in the same transaction as the file row.
        const file = await deps.files.accept(principal, staged, { name: upload.metadata?.filename ?? '', source: 'resumable', resumableId: upload.id })
        store.finished(upload)
        return file
      } finally {
        await uploads.delete(upload.id)
      }
    },

    async forget (id: string): Promise<void> {
      (await deps.store()).forget(id)
    },

    /** Records a PATCH; false when the upload is no longer open, which must then be refused. */
    touch: (id: string): Promise<boolean> => uploads.touch(id, new Date()),

    /** Ends an upload entirely: reservation and bytes. */
    discard,

    /**
     * Removes uploads idle for RESUMABLE_IDLE_MINUTES or older than RESUMABLE_EXPIRY_HOURS,
     * bytes and reservation; then whatever tus's own expiry still finds (uploads without a
     * row). Returns how many went.
     */
    async sweep (now: Date): Promise<number> {
      const cutoffs = {
        idleBefore: new Date(now.getTime() - config.intake.resumableIdleMs),
        createdBefore: new Date(now.getTime() - config.intake.resumableExpiryMs)
      }
      let removed = 0
      for (;;) {
        const ids = await uploads.deleteStale(cutoffs, SWEEP_BATCH)
        for (const id of ids) await discardBytes(id)
        removed += ids.length
        if (ids.length < SWEEP_BATCH) break
      }
      return removed + await (await deps.store()).deleteExpired()
    },

    /** GDPR participant: a user's open uploads, listed and erased with the account. */
    personalData: {
      section: 'resumableUploads',
      async export (userId: string) {
        const store = await deps.store()
        return Promise.all((await uploads.listForOwner(userId)).map(async (row) => {
          const upload = await store.getUpload(row.id).catch(() => undefined)
          return {
            id: row.id,
            name: upload?.metadata?.filename ?? null,
            declaredSize: Number(row.declared_size),
            receivedBytes: upload?.offset ?? null,
            createdAt: row.created_at.toISOString(),
            lastActivityAt: row.last_activity_at.toISOString()
          }
        }))
      },
      async erase (userId: string) {
        for (const row of await uploads.listForOwner(userId)) await discard(row.id)
      }
    }
  }
}

export type ResumableService = ReturnType<typeof resumableService>
