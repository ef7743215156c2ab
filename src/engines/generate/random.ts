import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64'
import { uniformInt } from 'pure-rand/distribution/uniformInt'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'

export const SEED_MAX = 0xffff_ffff

export interface Random {
  /** Integer in [from, to]. */
  int: (from: number, to: number) => number
  /** Float in [0, 1). */
  float: () => number
  chance: (probability: number) => boolean
  pick: <T>(items: readonly T[]) => T
}

/** FNV-1a over the UTF-16 code units: a stable 32-bit hash, the seed of a prompt without one. */
export function hashText (text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash
}

/**
 * A seeded generator for one purpose of the composition ("melody", "drums"): each part draws
 * from its own stream, so a change to one part's choices (a longer form, another tempo) leaves
 * the others' draws as they were.
 */
export function randomFor (seed: number, purpose: string): Random {
  const rng = xoroshiro128plus((seed ^ hashText(purpose)) | 0)
  return {
    int: (from, to) => uniformInt(rng, from, to),
    float: () => uniformFloat64(rng),
    chance: (probability) => uniformFloat64(rng) < probability,
    pick: (items) => items[uniformInt(rng, 0, items.length - 1)]!
  }
}
