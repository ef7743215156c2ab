import { GenerateParams } from '../jobs/jobs.types.ts'

/** The body of POST /api/v1/generate: a generate job's params, checked by the same schema. */
export const GenerateBody = GenerateParams
