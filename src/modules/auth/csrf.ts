import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Signed double-submit token (OWASP CSRF cheat sheet): `nonce.hmac(secret, sessionId.nonce)`.
 * The browser holds it in a readable cookie and echoes it in X-CSRF-Token. Binding it to the
 * session id means a token planted from another session (cookie tossing) does not verify.
 */
export function csrfCodec (secret: string) {
  const mac = (sessionId: string, nonce: string) =>
    createHmac('sha256', secret).update(`${sessionId}.${nonce}`).digest('base64url')
  return {
    issue (sessionId: string): string {
      const nonce = randomBytes(16).toString('base64url')
      return `${nonce}.${mac(sessionId, nonce)}`
    },
    verify (sessionId: string, header: string | undefined, cookie: string | undefined): boolean {
      if (!header || !cookie || !safeEqual(header, cookie)) return false
      const [nonce, signature, ...rest] = header.split('.')
      if (!nonce || !signature || rest.length > 0) return false
      return safeEqual(signature, mac(sessionId, nonce))
    }
  }
}

export type CsrfCodec = ReturnType<typeof csrfCodec>

export function safeEqual (a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}
