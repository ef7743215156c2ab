/**
 * Apertium's stream format, in and out, for `apertium -f none`: this module does the work of
 * `apertium-destxt` and `apertium-retxt` (the txt deformatter and reformatter), so that many
 * texts travel in one run and come back apart.
 *
 * In the stream, `\ [ ] ^ $ / @ < > { }` are syntax (lexical units `^…$`, tags `<…>`,
 * superblanks `[…]` that the pipeline carries through untouched): a client's `^a<n>$` must be
 * escaped, or it would be read as an analysis. `~` marks post-generation (it would merge two
 * words), so like destxt we hide it, and any blank run other than one space, in a superblank.
 * A sentence needs an end: destxt appends `.[]` (a period the reformatter removes again),
 * without which the last word comes out garbled, and we do the same after every text. Texts
 * are joined by a superblank of our own, which no escaped text can contain, so the output
 * splits back into exactly as many texts, in order.
 */

const RESERVED = new Set(['\\', '[', ']', '^', '$', '/', '@', '<', '>', '{', '}'])
const BLANK = new Set([' ', '\t', '\n', '\r', '~'])
/** The superblank that separates two texts. Deformatted text only ever holds blanks in a superblank. */
const SEPARATOR = '<tympan-segment/>'
/** The end of a sentence that the deformatter adds and the reformatter takes away. */
const SENTENCE_END = '.[]'

/** One text as a stream: escaped, blanks kept in superblanks, ended as a sentence. */
export function deformat (text: string): string {
  let out = ''
  let i = 0
  while (i < text.length) {
    const char = text[i]!
    if (BLANK.has(char)) {
      let end = i
      while (end < text.length && BLANK.has(text[end]!)) end++
      const run = text.slice(i, end)
      if (run === ' ') out += ' '
      else {
        // A paragraph break ends a sentence, as in destxt: no transfer rule reaches across it.
        let newlines = 0
        for (const c of run) if (c === '\n') newlines++
        out += `${newlines >= 2 ? SENTENCE_END : ''}[${run}]`
      }
      i = end
      continue
    }
    out += RESERVED.has(char) ? `\\${char}` : char
    i++
  }
  return out + SENTENCE_END
}

/** Many texts as one stream, in order. */
export function joinTexts (texts: readonly string[]): string {
  return texts.map(deformat).join(`[${SEPARATOR}]`)
}

/**
 * A translated stream back to texts, split at our separators: escapes undone, superblanks'
 * contents restored, and every `.[]` (the sentence end we added, wherever the pipeline put it)
 * removed, as apertium-retxt does. `undefined` if the stream is cut mid-escape or mid-superblank.
 */
export function splitTexts (stream: string): string[] | undefined {
  const texts: string[] = []
  let current = ''
  let i = 0
  while (i < stream.length) {
    const char = stream[i]!
    if (char === '\\') {
      if (i + 1 >= stream.length) return undefined
      current += stream[i + 1]
      i += 2
      continue
    }
    if (char === '[') {
      let content = ''
      let j = i + 1
      for (; j < stream.length && stream[j] !== ']'; j++) {
        if (stream[j] === '\\') j++
        if (j < stream.length) content += stream[j]
      }
      if (j >= stream.length) return undefined
      if (content === SEPARATOR) {
        texts.push(current)
        current = ''
      } else if (content === '') {
        if (current.endsWith('.')) current = current.slice(0, -1)
      } else {
        current += content
      }
      i = j + 1
      continue
    }
    current += char
    i++
  }
  texts.push(current)
  return texts
}
