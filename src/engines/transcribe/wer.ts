export interface WordErrors {
  /** (substitutions + deletions + insertions) / reference words; 0 for two empty texts, 1 for words against none. */
  wer: number
  substitutions: number
  deletions: number
  insertions: number
  referenceWords: number
}

/** Lowercase words without punctuation; apostrophes inside words stay ("don't" is one word). */
export function normaliseWords (text: string): string[] {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}'’\s]+/gu, ' ')
    .replace(/[’]/g, "'")
    .split(/\s+/)
    .map((w) => w.replace(/^'+|(?<!')'+$/g, ''))
    .filter(Boolean)
}

/** Pure: word error rate by Levenshtein alignment over normalised words. */
export function wordErrorRate (reference: string, hypothesis: string): WordErrors {
  const ref = normaliseWords(reference)
  const hyp = normaliseWords(hypothesis)
  // cost[j] and ops[j] hold the best alignment of ref[0..i) with hyp[0..j) as rows advance.
  type Ops = { s: number, d: number, i: number }
  let prev: Ops[] = hyp.map((_, j) => ({ s: 0, d: 0, i: j })).concat({ s: 0, d: 0, i: hyp.length })
  for (let i = 1; i <= ref.length; i++) {
    const row: Ops[] = [{ s: 0, d: i, i: 0 }]
    for (let j = 1; j <= hyp.length; j++) {
      const total = (o: Ops) => o.s + o.d + o.i
      const diag = prev[j - 1] as Ops
      const up = prev[j] as Ops
      const left = row[j - 1] as Ops
      const same = ref[i - 1] === hyp[j - 1]
      const candidates: Ops[] = [
        same ? diag : { ...diag, s: diag.s + 1 },
        { ...up, d: up.d + 1 },
        { ...left, i: left.i + 1 }
      ]
      row.push(candidates.reduce((best, c) => (total(c) < total(best) ? c : best)))
    }
    prev = row
  }
  const ops = prev[hyp.length] as Ops
  const errors = ops.s + ops.d + ops.i
  return {
    wer: ref.length === 0 ? (hyp.length === 0 ? 0 : 1) : errors / ref.length,
    substitutions: ops.s,
    deletions: ops.d,
    insertions: ops.i,
    referenceWords: ref.length
  }
}
