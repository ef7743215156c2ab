import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { atempoChain, concatList, encodeArgs, joinArgs, prepareText, residualTempo, schemeNumber, speakable, synthCommand, SPEECH_FORMATS } from './speak-args.ts'

const TEXT = '/w/chunk-0000.txt'
const OUT = '/w/chunk-0000.wav'

describe('synthCommand', () => {
  it('gives each engine the text as a file, never as an argument', () => {
    for (const [engine, model] of [['festival', 'cmu_us_slt_arctic_hts'], ['flite', 'rms'], ['espeak-ng', 'es+f2']] as const) {
      for (const speed of [0.25, 1, 2.5, 4]) {
        const { args } = synthCommand(engine, model, speed, TEXT, OUT)
        assert.equal(args.at(-1) === TEXT || args[args.indexOf('-f') + 1] === TEXT, true, `${engine}: the text file is an operand`)
        assert.ok(args.every((a) => !a.includes('touch') && !a.includes('<speak>')))
      }
    }
  })

  it('asks festival for plain text with constant Scheme, the speed formatted as a number', () => {
    const { binary, args, tempo } = synthCommand('festival', 'cmu_us_slt_arctic_hts', 1.5, TEXT, OUT)
    assert.equal(binary, 'text2wave')
    assert.deepEqual(args, ['-mode', 'fundamental', '-eval', '(voice_cmu_us_slt_arctic_hts)', '-eval', '(set! hts_engine_params (cons (list "-r" 1.5000) hts_engine_params))', '-o', OUT, TEXT])
    assert.equal(tempo, 1)
    assert.deepEqual(synthCommand('festival', 'cmu_us_slt_arctic_hts', 1, TEXT, OUT).args, ['-mode', 'fundamental', '-eval', '(voice_cmu_us_slt_arctic_hts)', '-o', OUT, TEXT])
    assert.throws(() => synthCommand('festival', 'x) (system "id"', 1, TEXT, OUT))
  })

  it('refuses a number festival would read as anything but a speed', () => {
    assert.equal(schemeNumber(0.25), '0.2500')
    for (const bad of [Number.NaN, Infinity, -1, 0, 5, 1e21]) assert.throws(() => schemeNumber(bad), RangeError)
  })

  it('stretches flite durations and speeds espeak-ng up in words per minute, never below its floor', () => {
    assert.deepEqual(synthCommand('flite', 'rms', 2, TEXT, OUT).args, ['-voice', 'rms', '--setf', 'duration_stretch=0.5000', '-f', TEXT, '-o', OUT])
    const espeak = synthCommand('espeak-ng', 'en-us', 2, TEXT, OUT)
    assert.deepEqual(espeak.args, ['-v', 'en-us', '-s', '350', '-b', '1', '-f', TEXT, '-w', OUT])
    assert.ok(!espeak.args.includes('-m'), 'no SSML: markup is read as text')
    assert.equal(espeak.tempo, 1)
    // 175 × 0.25 is 44 words a minute; espeak-ng goes no lower than 80, ffmpeg does the rest.
    const slow = synthCommand('espeak-ng', 'en-us', 0.25, TEXT, OUT)
    assert.equal(slow.args[slow.args.indexOf('-s') + 1], '80')
    assert.ok(Math.abs(slow.tempo - 43.75 / 80) < 1e-9)
    assert.equal(residualTempo('festival', 0.25), 1)
  })

  it('refuses relative paths, which could start with a dash', () => {
    assert.throws(() => synthCommand('flite', 'rms', 1, '-o.txt', OUT))
    assert.throws(() => synthCommand('espeak-ng', '-m', 1, TEXT, OUT))
  })
})

describe('ffmpeg arguments', () => {
  it('chains atempo stages within 0.5–2', () => {
    assert.deepEqual(atempoChain(1), [])
    assert.deepEqual(atempoChain(0.3), ['atempo=0.5', 'atempo=0.600000'])
    assert.deepEqual(atempoChain(5), ['atempo=2', 'atempo=2', 'atempo=1.250000'])
  })

  it('joins the chunks with the pitch shift, leftover tempo and 24 kHz mono', () => {
    const args = joinArgs({ list: '/w/chunks.txt', pitch: -2, tempo: 0.6, out: '/w/speech.wav' })
    assert.equal(args[args.indexOf('-af') + 1], 'rubberband=pitch=0.890899,atempo=0.600000,aresample=24000')
    assert.deepEqual(args.slice(args.indexOf('-f'), args.indexOf('-f') + 4), ['-f', 'concat', '-i', '/w/chunks.txt'])
    assert.equal(joinArgs({ list: '/w/l', pitch: 0, tempo: 1, out: '/w/o.wav' })[joinArgs({ list: '/w/l', pitch: 0, tempo: 1, out: '/w/o.wav' }).indexOf('-af') + 1], 'aresample=24000')
    assert.equal(concatList(['chunk-0000.wav', 'chunk-0001.wav']), "file 'chunk-0000.wav'\nfile 'chunk-0001.wav'\n")
    assert.throws(() => concatList(["x'\nfile '/etc/passwd"]))
  })

  it('encodes each format with its codec', () => {
    const codec = (format: typeof SPEECH_FORMATS[number]) => { const a = encodeArgs('/w/in.wav', format, '/w/out'); return `${a[a.indexOf('-c:a') + 1]}/${a[a.lastIndexOf('-f') + 1]}` }
    assert.deepEqual(SPEECH_FORMATS.map(codec), ['libmp3lame/mp3', 'libopus/ogg', 'aac/adts', 'flac/flac', 'pcm_s16le/wav', 'pcm_s16le/s16le'])
  })
})

describe('prepareText', () => {
  it('folds text to ASCII for festival and flite, which read bytes', () => {
    assert.equal(prepareText('festival', 'It’s “café” — fine…'), 'It\'s "cafe"  -  fine...')
    assert.equal(prepareText('flite', '東京 ok\u0007'), '   ok ')
  })

  it('keeps UTF-8 for espeak-ng but breaks its [[phoneme]] brackets', () => {
    assert.equal(prepareText('espeak-ng', 'Grüße [[h@l"oU]]'), 'Grüße [ [h@l"oU]]')
  })

  it('knows text with nothing to say', () => {
    assert.equal(speakable('...!?'), false)
    assert.equal(speakable('   '), false)
    assert.equal(speakable('42'), true)
    assert.equal(speakable('día'), true)
  })
})
