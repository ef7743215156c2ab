import { useEffect, useState } from 'react'
import { api } from './api.ts'
import type { JobType } from './types.ts'

// The server's job types (GET /api/v1/job-types), asked once per page load: the menu shows
// a capability's page only when the server has its job type, so pages appear as types land.

let asked: Promise<JobType[]> | undefined

export function jobTypes (): Promise<JobType[]> {
  asked ??= api<{ items: JobType[] }>('/api/v1/job-types').then((body) => body.items, (error: unknown) => {
    asked = undefined
    throw error
  })
  return asked
}

/** The job types, or undefined while they load (or when they could not be loaded). */
export function useJobTypes (): JobType[] | undefined {
  const [types, setTypes] = useState<JobType[]>()
  useEffect(() => {
    let live = true
    jobTypes().then((items) => { if (live) setTypes(items) }, () => undefined)
    return () => { live = false }
  }, [])
  return types
}
