// bench/translate: what a translation costs with the installed Apertium pairs.
//   - start-up: a one-word text, per pair (the transducers load on every run);
//   - characters per second for a 5000-character text (the API's limit), direct (en → es)
//     and through a pivot (fr → es → en), with and without the start-up;
//   - a batch of N short segments in one run per hop (translateMany, what speech
//     translation sends) against N separate runs: the ratio is the start-up saved.
// Usage: node bench/translate/run.ts [--rounds N] [--segments N]
import { parseArgs } from 'node:util'
import { createApertiumTranslator } from '../../src/engines/translate/index.ts'
import { median, printTable } from '../lib/server.ts'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, segments: { type: 'string', default: '10' } } })
const ROUNDS = Number(values.rounds)
const SEGMENTS = Number(values.segments)
const signal = new AbortController().signal
const translator = createApertiumTranslator()

const EN = 'The committee met on Tuesday to discuss the new library. Several members said that the building was too small for the growing town, and they asked the council to find more money. A teacher explained that children need quiet places to read after school. '
const FR = 'Le comité s\'est réuni mardi pour discuter de la nouvelle bibliothèque. Plusieurs membres ont dit que le bâtiment était trop petit pour la ville qui grandit, et ils ont demandé au conseil de trouver plus d\'argent. '
const fill = (sentence: string) => sentence.repeat(Math.ceil(5000 / sentence.length)).slice(0, 5000).replace(/\s+\S*$/, '')

async function timed (run: () => Promise<unknown>): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < ROUNDS; i++) {
    const started = performance.now()
    await run()
    samples.push(performance.now() - started)
  }
  return median(samples)
}

await translator.languages()
const startup: (string | number)[][] = [['pair', 'one word, ms (median)']]
const startupOf: Record<string, number> = {}
for (const [from, to] of [['en', 'es'], ['es', 'en'], ['fr', 'es'], ['es', 'fr'], ['en', 'ca']] as const) {
  const ms = await timed(() => translator.translate('Hello.', from, to, { signal }))
  startupOf[`${from}>${to}`] = ms
  startup.push([`${from} → ${to}`, ms.toFixed(0)])
}
printTable('Apertium start-up (a one-word text)', startup)

const throughput: (string | number)[][] = [['route', 'characters', 'ms (median)', 'chars/s', 'chars/s without start-up']]
for (const [label, text, from, to, hops] of [['en → es (direct)', fill(EN), 'en', 'es', ['en>es']], ['fr → es → en (pivot)', fill(FR), 'fr', 'en', ['fr>es', 'es>en']]] as const) {
  const ms = await timed(() => translator.translate(text, from, to, { signal }))
  const start = hops.reduce((sum, hop) => sum + (startupOf[hop] ?? 0), 0)
  throughput.push([label, text.length, ms.toFixed(0), (text.length / ms * 1000).toFixed(0), (text.length / Math.max(1, ms - start) * 1000).toFixed(0)])
}
printTable('A 5000-character text', throughput)

const segments = Array.from({ length: SEGMENTS }, (_, i) => `Segment ${i + 1}: the train leaves the station at seven.`)
const batch = await timed(() => translator.translateMany(segments, 'en', 'es', { signal }))
const single = await timed(async () => { for (const text of segments) await translator.translate(text, 'en', 'es', { signal }) })
printTable(`${SEGMENTS} segments, en → es`, [['how', 'ms (median)'], ['one run (translateMany)', batch.toFixed(0)], [`${SEGMENTS} runs (translate each)`, single.toFixed(0)], ['ratio', (single / batch).toFixed(1)]])

const examples: (string | number)[][] = [['from → to', 'source', 'translation', 'route']]
for (const [text, from, to] of [['The weather is very nice today.', 'en', 'es'], ['Le chat est sur la table.', 'fr', 'en'], ['Me gustaría comprar una casa nueva.', 'es', 'pt']] as const) {
  const result = await translator.translate(text, from, to, { signal })
  examples.push([`${from} → ${to}`, text, result.translation, result.route.join(' → ')])
}
printTable('Examples', examples)
