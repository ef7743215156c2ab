import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { allowedFormats, fixtureFormats, groupOf, jobVerdict, judge, type Answer } from './intake.ts'

const problem = (status: number, fields: Record<string, unknown>): Answer => ({
  status, contentType: 'application/problem+json; charset=utf-8', body: JSON.stringify({ type: 'about:blank', status, ...fields }), ms: 1
})

describe('fuzz judgement', () => {
  it('has a fixture for every allowed format', () => {
    assert.deepEqual(allowedFormats().filter((format) => !fixtureFormats().includes(format)), [])
  })

  it('accepts a 2xx only with the file id', () => {
    assert.deepEqual(judge({ status: 201, contentType: 'application/json', body: '{}', fileId: 'f1', ms: 1 }), { outcome: 'accepted', fileId: 'f1' })
    assert.deepEqual(judge({ status: 200, contentType: 'application/json', body: '{}', fileId: 'f2', ms: 1 }), { outcome: 'accepted', fileId: 'f2' })
    assert.equal(judge({ status: 204, contentType: '', body: '', ms: 1 }).outcome, 'defect')
  })

  it('counts a 4xx problem with a title and a detail as a refusal, grouped without its numbers', () => {
    assert.deepEqual(judge(problem(422, { title: 'Unprocessable Content', detail: 'The audio lasts 14400.5 s; the limit is 14400 s' })),
      { outcome: 'refused', group: '422 The audio lasts N s; the limit is N s' })
  })

  it('calls every other answer a defect', () => {
    const defects: Answer[] = [
      problem(500, { title: 'Internal Server Error', detail: 'An unexpected error occurred' }),
      problem(503, { title: 'Service Unavailable', detail: 'busy' }),
      problem(422, { title: 'Unprocessable Content' }),
      problem(422, { title: '', detail: 'x' }),
      problem(415, { title: 'Unsupported Media Type', detail: 'x', status: 400 }),
      { status: 400, contentType: 'text/plain', body: 'Bad Request', ms: 1 },
      { status: 400, contentType: 'application/problem+json', body: '{"title":', ms: 1 },
      { status: 0, contentType: '', body: 'request failed: socket hang up', ms: 1 },
      { status: 302, contentType: '', body: '', ms: 1 }
    ]
    for (const answer of defects) assert.equal(judge(answer).outcome, 'defect', answer.body)
  })

  it('keeps format names whole when it blanks numbers', () => {
    assert.equal(groupOf('The content is not M4A audio after 12 bytes of "x.mp3"'), 'The content is not M4A audio after N bytes of "…"')
  })

  it('judges a finished job: succeeded, failed with an error, or a defect', () => {
    assert.equal(jobVerdict({ status: 'running', error: null }), undefined)
    assert.equal(jobVerdict({ status: 'queued', error: null }), undefined)
    assert.equal(jobVerdict({ status: 'succeeded', error: null }), 'succeeded')
    assert.equal(jobVerdict({ status: 'failed', error: 'ffmpeg could not decode the input' }), 'failed cleanly')
    assert.equal(jobVerdict({ status: 'failed', error: ' ' }), 'defect')
    assert.equal(jobVerdict({ status: 'failed', error: null }), 'defect')
    assert.equal(jobVerdict({ status: 'canceled', error: null }), 'defect')
  })
})
