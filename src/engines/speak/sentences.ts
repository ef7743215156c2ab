/**
 * Pure: cutting client text into pieces that can be synthesised apart and joined again. One
 * pass over the characters, no regular expression: the text is the client's, up to the job's
 * limit, and the cost must stay linear whatever it holds.
 */

const TERMINATORS = new Set(['.', '!', '?', '…', '。', '！', '？', '؟', '।'])
// Closing marks that belong to the sentence before the break: `He said "no."` ends after the quote.
const CLOSERS = new Set(['"', '\'', ')', ']', '}', '»', '”', '’', '」', '』'])
const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v' || c === '\u00a0' || c === '\u3000'

/**
 * Sentences of `text`, trimmed, none empty. A sentence ends at a terminator (and any closing
 * marks after it) followed by white space or the end, at a CJK full stop even without a space,
 * and at a line break. Abbreviations ("Dr. Smith") split too: harmless, since the pieces are
 * spoken one after another.
 */
export function splitSentences (text: string): string[] {
  const sentences: string[] = []
  let start = 0
  const cut = (end: number) => {
    const piece = text.slice(start, end).trim()
    if (piece) sentences.push(piece)
    start = end
  }
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c === '\n') { cut(i + 1); continue }
    if (!TERMINATORS.has(c)) continue
    let end = i + 1
    while (end < text.length && (TERMINATORS.has(text[end]!) || CLOSERS.has(text[end]!))) end++
    const wide = c === '。' || c === '！' || c === '？'
    if (end === text.length || wide || isSpace(text[end]!)) cut(end)
    // The run of marks is scanned once whether it ended a sentence or not ("a...b").
    i = end - 1
  }
  cut(text.length)
  return sentences
}

/** Where to cut text[from…] when it is longer than `max`: the last space, else the last comma-like mark, else `from + max`. */
function breakPoint (text: string, from: number, max: number): number {
  let comma = -1
  for (let i = from + max; i > from + max / 2; i--) {
    const c = text[i]!
    if (isSpace(c)) return i
    if (comma < 0 && (c === ',' || c === ';' || c === ':' || c === '，' || c === '、')) comma = i + 1
  }
  return comma > 0 ? comma : from + max
}

/**
 * Groups sentences into chunks of at most `maxChars` characters, in order: each chunk is one
 * synthesiser process, so a chunk should be long enough to outweigh the process's start-up
 * and short enough that chunks share out among the cores. A sentence longer than `maxChars` is
 * cut at a space (or a comma) of its own.
 */
export function chunkText (text: string, maxChars: number): string[] {
  const chunks: string[] = []
  let current = ''
  const flush = () => { if (current) chunks.push(current); current = '' }
  for (const sentence of splitSentences(text)) {
    let from = 0
    while (sentence.length - from > maxChars) {
      flush()
      const at = breakPoint(sentence, from, maxChars)
      const piece = sentence.slice(from, at).trim()
      if (piece) chunks.push(piece)
      from = at
    }
    const rest = sentence.slice(from).trim()
    if (!rest) continue
    if (current && current.length + 1 + rest.length > maxChars) flush()
    // A line break between sentences keeps each one its own utterance in every engine.
    current = current ? `${current}\n${rest}` : rest
  }
  flush()
  return chunks
}
