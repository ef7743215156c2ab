import { checkSpeed, prepareText, speakable } from './speak-args.ts'
import { VoiceError, recipeOf, resolveVoice, type Voice, type VoiceRecipe } from './voices.ts'

export interface SpeechPlan {
  /** The Tympan id of the voice that will speak. */
  voice: string
  recipe: VoiceRecipe
  /** The text as its engine will read it (prepareText). */
  text: string
  speed: number
}

/**
 * Pure: everything about a request that can be judged before any process runs: the voice, the
 * speed, and whether the text has anything left to say in that voice (an English voice reads
 * ASCII, so Chinese text gives it nothing). The HTTP edge calls it to refuse a request at
 * once; the synthesiser calls it again on the voices it finds installed. Throws VoiceError.
 */
export function planSpeech (voices: Voice[], request: { text: string, voice?: string | undefined, language?: string | undefined, speed?: number | undefined }): SpeechPlan {
  const speed = request.speed ?? 1
  try { checkSpeed(speed) } catch (error) { throw new VoiceError('speed', (error as Error).message) }
  const voice = resolveVoice(voices, request)
  const recipe = recipeOf(voice, voices)
  if (!recipe) throw new VoiceError('voice', `Unknown voice "${voice}"`)
  const text = prepareText(recipe.engine, request.text)
  if (!speakable(text)) {
    throw new VoiceError('text', recipe.engine === 'espeak-ng'
      ? 'The text has nothing to speak: no letters or digits'
      : `The text has nothing ${voice} can speak: it reads English letters and digits (pick a voice of the text's language)`)
  }
  return { voice, recipe, text, speed }
}
