export { createApertiumTranslator, type ApertiumOptions, type ApertiumTranslator } from './apertium.translator.ts'
export { languageName, normaliseLanguage } from './languages.ts'
export { allRoutes, findRoute, languagesOf, MAX_HOPS, parseModes, resolveLanguage, targetsFrom, type Pair, type Route } from './routes.ts'
export { assertText, characters, MAX_BATCH_CHARS, MAX_BATCH_TEXTS, MAX_TEXT_CHARS, textProblem, type Translator } from './translator.ts'
