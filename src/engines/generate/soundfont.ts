import { access, constants } from 'node:fs/promises'
import { basename } from 'node:path'

export interface SoundFont {
  path: string
  /** The file name, for composition.json and the engine status (never the whole path). */
  name: string
  /** The Debian package that installs it; empty for an operator's own file. */
  package: string
}

/**
 * The General MIDI SoundFonts of Debian packages that are used when installed, best first
 * (measured by bench/generate/soundfonts.ts; docs/generation.md has the numbers): FluidR3
 * holds 2.7 times TimGM6mb's samples and a stereo piano, and loads in a quarter of a second.
 * SOUNDFONT names any other file.
 */
export const DEBIAN_SOUNDFONTS: readonly SoundFont[] = [
  { path: '/usr/share/sounds/sf2/FluidR3_GM.sf2', name: 'FluidR3_GM.sf2', package: 'fluid-soundfont-gm' },
  { path: '/usr/share/sounds/sf2/TimGM6mb.sf2', name: 'TimGM6mb.sf2', package: 'timgm6mb-soundfont' }
]
/**
 * Measured, but used only when SOUNDFONT names it: its samples are Ogg-compressed, and
 * FluidSynth decodes all of them at every load, 12.7 s of CPU and 500 MiB for each job.
 */
export const MUSESCORE_SOUNDFONT: SoundFont = { path: '/usr/share/sounds/sf3/MuseScore_General.sf3', name: 'MuseScore_General.sf3', package: 'musescore-general-soundfont' }
/** Installed by Tympan's set-up; the one to name when none is there. */
export const DEFAULT_SOUNDFONT_PACKAGE = 'timgm6mb-soundfont'

const readable = (path: string) => access(path, constants.R_OK).then(() => true, () => false)

export type SoundFontChoice = { soundfont: SoundFont } | { missing: string }

/** The configured SoundFont, or the best installed one; `missing` says why there is none. */
export async function chooseSoundFont (configured: string, candidates: readonly SoundFont[] = DEBIAN_SOUNDFONTS): Promise<SoundFontChoice> {
  if (configured) {
    if (await readable(configured)) return { soundfont: { path: configured, name: basename(configured), package: '' } }
    return { missing: 'SOUNDFONT does not name a readable SoundFont file' }
  }
  for (const candidate of candidates) if (await readable(candidate.path)) return { soundfont: candidate }
  return { missing: `no General MIDI SoundFont is installed: install the Debian package ${DEFAULT_SOUNDFONT_PACKAGE}` }
}
