import type { AuditService } from '../../audit/audit.service.ts'
import type { Storage } from '../../storage/storage.ts'
import type { ObjectReferencesRepository } from './objects.repository.ts'

const PAGE = 500

export interface OrphanCollectorDeps {
  storage: Pick<Storage, 'listOlderThan' | 'delete'>
  references: Pick<ObjectReferencesRepository, 'referenced'>
  audit: Pick<AuditService, 'record'>
  /** ORPHAN_OBJECT_GRACE_MINUTES: an object younger than this is never collected. */
  graceMs: number
  /** Ids checked per query; tests page sooner. */
  pageSize?: number
  /**
   * A collection starts at most this often (0: every sweep). Listing the whole store costs a
   * LIST request per 1000 objects (S3) or a walk of the tree (local) and a query per page;
   * the sweep runs every few minutes, while orphans are rare and wait a day anyway.
   */
  everyMs?: number
  now?: () => number
}

/**
 * Deletes objects no row names. Writers store an object before the row that names it where
 * they must (a job's artifacts, then `jobs.finish`), and a failure between the two cannot
 * safely delete the object (the commit may have happened and only its answer been lost), so
 * such objects are left for this collector instead.
 *
 * The race it must not lose: an object written a moment before its row is inserted looks
 * unreferenced until then. The grace period covers it: every writer inserts its row within
 * the longest job or upload of storing the object, and the grace period must exceed that, so
 * an object older than it with no row will never get one. Its age is the store's own clock
 * (the sweep's `now` is not used): a sweep asked about a later date must not judge a
 * just-stored artifact old.
 */
export function orphanCollector (deps: OrphanCollectorDeps) {
  const pageSize = deps.pageSize ?? PAGE
  const clock = deps.now ?? Date.now
  // When the last collection that ran to its end began: one that failed (the store or the
  // database down a moment) is tried again at the next sweep, not an interval later.
  let lastCompleted = Number.NEGATIVE_INFINITY
  // A sweep that comes while a long listing is still running leaves it alone.
  let running = false

  async function collectPage (ids: string[]): Promise<number> {
    if (ids.length === 0) return 0
    const referenced = await deps.references.referenced(ids)
    let deleted = 0
    for (const id of ids) {
      if (referenced.has(id)) continue
      await deps.storage.delete(id)
      await deps.audit.record({ action: 'object.orphan_deleted', status: 200, detail: { objectId: id } })
      deleted++
    }
    return deleted
  }

  return {
    /** Deletes every object older than the grace period that no row names; returns how many. */
    async collect (): Promise<number> {
      const started = clock()
      if (running || started - lastCompleted < (deps.everyMs ?? 0)) return 0
      running = true
      try {
        let deleted = 0
        let page: string[] = []
        for await (const id of deps.storage.listOlderThan(deps.graceMs)) {
          page.push(id)
          if (page.length < pageSize) continue
          deleted += await collectPage(page)
          page = []
        }
        deleted += await collectPage(page)
        lastCompleted = started
        return deleted
      } finally {
        running = false
      }
    }
  }
}

export type OrphanCollector = ReturnType<typeof orphanCollector>
