// Language names for the codes the server uses (ISO 639-1, or 639-3 where a language has no
// 639-1 code), from the browser's own table: no list to keep in step with the server.

const names = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'code' })

/** `es` → Spanish; a code the browser does not know stays as it is. */
export function languageName (code: string): string {
  try { return names.of(code) ?? code } catch { return code }
}
