import type { FastifyBaseLogger } from 'fastify'
import type { Principal } from '../../access/permissions.ts'
import type { AudioFile } from '../../db/schema.ts'
import { HttpProblem } from '../../http/problem.ts'
import type { Metrics } from '../../observability/metrics.ts'
import type { FilesService } from './files.service.ts'
import { ImportError } from './import/import-error.ts'
import type { UrlImporter } from './import/url-import.ts'

export interface ImportServiceDeps {
  files: Pick<FilesService, 'uploadAllowance' | 'sizeProblem' | 'accept'>
  importer: Pick<UrlImporter, 'fetch'>
  metrics: Pick<Metrics, 'uploadRefused'>
}

export function importService (deps: ImportServiceDeps) {
  return {
    /**
     * Downloads `url` within the principal's size allowance and accepts it as their file.
     * Every refusal is a counted 4xx problem; the reason behind it goes to `log`, not the client.
     */
    async importUrl (principal: Principal, url: string, log: Pick<FastifyBaseLogger, 'info'>): Promise<{ file: AudioFile, sourceUrl: string }> {
      const allowance = await deps.files.uploadAllowance(principal)
      let imported
      try {
        imported = await deps.importer.fetch(url, allowance.maxBytes)
      } catch (error) {
        if (!(error instanceof ImportError)) throw error
        log.info({ reason: error.code, err: error.cause }, 'URL import refused')
        // Counted by the ImportError's code, or as size/quota; accept() counts its own refusals.
        if (error.code === 'too_large') {
          const problem = deps.files.sizeProblem(allowance)
          deps.metrics.uploadRefused(problem)
          throw problem
        }
        deps.metrics.uploadRefused(error)
        throw new HttpProblem(422, 'Unprocessable Content', error.message, { extra: { reason: error.code } })
      }
      const file = await deps.files.accept(principal, imported.staged, { name: imported.name, source: 'import', sourceUrl: imported.sourceUrl })
      return { file, sourceUrl: imported.sourceUrl }
    }
  }
}

export type ImportService = ReturnType<typeof importService>
