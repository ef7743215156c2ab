import type { Storage } from './storage.ts'

export interface DeferrableDeletes {
  /** The store, whose delete waits its turn while a hold is on. */
  storage: Storage
  /**
   * Defers every delete from now on and resolves once the deletes already under way have
   * finished, so that the objects a database snapshot taken after it references stay
   * readable until `release`. Release runs the deferred deletes (once every hold is released).
   */
  hold: () => Promise<() => Promise<void>>
}

/**
 * An online backup copies the objects a database snapshot references while the server goes
 * on serving. Objects are immutable and rows are written after their objects and deleted
 * before them, so the one change that can break the pair is a delete: this wrapper holds
 * deletes back while a backup runs. A deferred delete answers at once (its row is gone, no
 * reader can reach it); a crash while held leaves the object behind, never a row without one.
 * The orphan collector's deletes wait like any other (everything else, listOlderThan included,
 * is the inner store's).
 */
export function deferrableDeletes (inner: Storage): DeferrableDeletes {
  let holds = 0
  const running = new Set<Promise<void>>()
  const deferred = new Set<string>()

  const remove = (id: string): Promise<void> => {
    const deletion = inner.delete(id).finally(() => running.delete(deletion))
    running.add(deletion)
    return deletion
  }

  return {
    storage: {
      ...inner,
      async delete (id) {
        if (holds > 0) {
          deferred.add(id)
          return
        }
        await remove(id)
      }
    },
    async hold () {
      holds++
      await Promise.allSettled([...running])
      let released = false
      return async () => {
        if (released) return
        released = true
        holds--
        if (holds > 0) return
        const ids = [...deferred]
        deferred.clear()
        // Each delete is quiet when the object is gone; one that fails is retried by nothing
        // else, so every one is attempted and the first failure reported.
        const results = await Promise.allSettled(ids.map(remove))
        const failed = results.find((r) => r.status === 'rejected')
        if (failed) throw failed.reason
      }
    }
  }
}
