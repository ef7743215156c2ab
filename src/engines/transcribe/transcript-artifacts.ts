import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ArtifactFile } from '../engine.ts'
import { renderTranscriptFiles } from './transcript-formats.ts'
import type { Transcript } from './transcript.ts'

/** Writes every transcript format into the work directory for the job runner to store. */
export async function writeTranscriptArtifacts (workDir: string, transcript: Transcript, options: { words?: boolean }): Promise<ArtifactFile[]> {
  return Promise.all(renderTranscriptFiles(transcript, options).map(async ({ name, contentType, body }) => {
    const path = join(workDir, name)
    await writeFile(path, body)
    return { name, path, contentType }
  }))
}
