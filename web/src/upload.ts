import { DetailedError, Upload } from 'tus-js-client'
import { csrfToken, problemOf, refreshSession } from './api.ts'
import type { AudioFile } from './types.ts'

// Small files go in one multipart request (XHR, for its upload progress events); larger
// ones over tus, in chunks that survive a dropped connection and resume after a reload
// (tus-js-client remembers the upload's URL by the file's fingerprint; the URL is no secret:
// every request to it is checked against the session).
export const RESUMABLE_FROM_BYTES = 8 * 1024 * 1024
const CHUNK_BYTES = 4 * 1024 * 1024

export interface UploadHandlers {
  onProgress: (fraction: number) => void
  /** Told when a tus upload picks up an earlier attempt of the same file (after a reload). */
  onResume?: () => void
  /** Told when a tus upload waits to retry after a network failure. */
  onRetry?: () => void
}

export class UploadRefused extends Error {
  readonly status: number | undefined
  constructor (message: string, status?: number) {
    super(message)
    this.name = 'UploadRefused'
    this.status = status
  }
}

export interface RunningUpload {
  done: Promise<AudioFile | { id: string }>
  abort: () => void
}

export function startUpload (file: File, handlers: UploadHandlers): RunningUpload {
  return file.size >= RESUMABLE_FROM_BYTES ? resumable(file, handlers) : multipart(file, handlers)
}

function multipart (file: File, handlers: UploadHandlers): RunningUpload {
  let xhr: XMLHttpRequest | undefined
  let aborted = false
  const once = () => new Promise<{ status: number, body: string }>((resolve, reject) => {
    const request = new XMLHttpRequest()
    xhr = request
    request.open('POST', '/api/v1/files')
    request.setRequestHeader('accept', 'application/json')
    const token = csrfToken()
    if (token) request.setRequestHeader('x-csrf-token', token)
    request.upload.onprogress = (event) => { if (event.lengthComputable) handlers.onProgress(event.loaded / event.total) }
    request.onload = () => resolve({ status: request.status, body: request.responseText })
    request.onerror = () => reject(new UploadRefused('The connection failed during the upload. Check the network and try again.'))
    request.onabort = () => reject(new UploadRefused('Upload canceled.'))
    const form = new FormData()
    form.append('file', file, file.name)
    request.send(form)
  })
  const done = (async () => {
    let answer = await once()
    if (answer.status === 401 && !aborted && await refreshSession()) answer = await once()
    if (answer.status === 201) return JSON.parse(answer.body) as AudioFile
    const problem = await problemOf(new Response(answer.body, { status: answer.status }))
    throw new UploadRefused(problem.detail, answer.status)
  })()
  return { done, abort: () => { aborted = true; xhr?.abort() } }
}

function resumable (file: File, handlers: UploadHandlers): RunningUpload {
  let upload: Upload | undefined
  const done = new Promise<{ id: string }>((resolve, reject) => {
    upload = new Upload(file, {
      endpoint: '/api/v1/uploads',
      chunkSize: CHUNK_BYTES,
      // Back off on a dropped connection; tus asks the server for its offset before each retry.
      retryDelays: [0, 1000, 3000, 5000, 10_000, 20_000, 30_000],
      metadata: { filename: file.name, filetype: file.type },
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onBeforeRequest: (request) => {
        const token = csrfToken()
        if (token) request.setHeader('x-csrf-token', token)
      },
      onShouldRetry: (error, _attempt, _options) => {
        const status = error instanceof DetailedError ? error.originalResponse?.getStatus() : undefined
        if (status === 401) { void refreshSession(); return true }
        const retry = status === undefined || status === 0 || status >= 500 || status === 409 || status === 423
        if (retry) handlers.onRetry?.()
        return retry
      },
      onProgress: (sent, total) => handlers.onProgress(total > 0 ? sent / total : 0),
      onSuccess: ({ lastResponse }) => {
        const id = lastResponse.getHeader('tympan-file-id')
        if (id) resolve({ id })
        else reject(new UploadRefused('The server finished the upload without naming the file.'))
      },
      onError: (error) => {
        const response = error instanceof DetailedError ? error.originalResponse : undefined
        if (!response) { reject(new UploadRefused('The connection failed and the upload could not resume. Pick the file again to continue where it stopped.')); return }
        const status = response.getStatus()
        void problemOf(new Response(response.getBody(), { status })).then((problem) => reject(new UploadRefused(problem.detail, status)))
      }
    })
    const started = upload
    void started.findPreviousUploads().then((previous) => {
      const last = previous.sort((a, b) => b.creationTime.localeCompare(a.creationTime))[0]
      if (last) {
        started.resumeFromPreviousUpload(last)
        handlers.onResume?.()
      }
      started.start()
    })
  })
  return { done, abort: () => { void upload?.abort(true) } }
}
