import type { Job } from './types.ts'

export const artifactUrl = (job: Pick<Job, 'id'>, name: string) => `/api/v1/jobs/${job.id}/artifacts/${encodeURIComponent(name)}`
export const fileContentUrl = (fileId: string) => `/api/v1/files/${fileId}/content`
