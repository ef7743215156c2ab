import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { HttpProblem } from '../../http/problem.ts'
import { parseSpeechBody } from './openai-speech.service.ts'

const field = (body: unknown) => {
  try { parseSpeechBody(body) } catch (error) {
    assert.ok(error instanceof HttpProblem && error.status === 400)
    return error.extra.field ?? '(body)'
  }
  return undefined
}

describe('parseSpeechBody', () => {
  it('applies OpenAI\'s defaults and takes a custom voice object as a Tympan id', () => {
    assert.deepEqual(parseSpeechBody({ model: 'tts-1', input: 'Hi.', voice: 'nova' }), { text: 'Hi.', voice: 'nova', format: 'mp3', speed: 1 })
    assert.deepEqual(parseSpeechBody({ model: 'gpt-4o-mini-tts', input: 'Hola', voice: { id: 'espeak:es' }, response_format: 'pcm', speed: 0.25, instructions: 'calm', stream_format: 'audio', language: 'es' }),
      { text: 'Hola', voice: 'espeak:es', language: 'es', format: 'pcm', speed: 0.25 })
  })

  it('counts characters, not UTF-16 units, against the 4096 limit', () => {
    assert.equal(parseSpeechBody({ model: 'tts-1', input: '🙂'.repeat(4096), voice: 'alloy' }).text.length, 8192)
    assert.equal(field({ model: 'tts-1', input: '🙂'.repeat(4097), voice: 'alloy' }), 'input')
  })

  it('names the field of every refusal', () => {
    const good = { model: 'tts-1', input: 'hi', voice: 'alloy' }
    assert.equal(field([]), '(body)')
    assert.equal(field(null), '(body)')
    assert.equal(field({ ...good, model: 7 }), 'model')
    assert.equal(field({ ...good, input: 42 }), 'input')
    assert.equal(field({ ...good, voice: { name: 'x' } }), 'voice')
    assert.equal(field({ ...good, voice: 'v'.repeat(65) }), 'voice')
    assert.equal(field({ ...good, speed: 0.2 }), 'speed')
    assert.equal(field({ ...good, speed: Number.NaN }), 'speed')
    assert.equal(field({ ...good, instructions: 3 }), 'instructions')
    assert.equal(field({ ...good, language: 'english language' }), 'language')
    assert.equal(field({ ...good, seed: 3 }), 'seed')
  })
})
