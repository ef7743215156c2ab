import type { Artifact } from '../types.ts'

/** Audio a player can decode: MIDI is `audio/midi` too, but notes, not sound (a download). */
export const isPlayable = (a: Artifact) => a.contentType.startsWith('audio/') && !/^audio\/(x-)?midi\b/.test(a.contentType) && !a.name.endsWith('.mid')
