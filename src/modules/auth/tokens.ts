import { randomBytes } from 'node:crypto'
import { SignJWT, jwtVerify, errors } from 'jose'

export const ISSUER = 'tympan'
export const AUDIENCE = 'tympan-api'
// Pinned: a token that names any other algorithm (including "none") is rejected by jose.
const ALGORITHM = 'HS256'

export interface AccessClaims {
  sub: string
  sid: string
  jti: string
  exp: number
  iat: number
}

export function tokenCodec (secret: string, ttlSec: number) {
  const key = new TextEncoder().encode(secret)
  return {
    ttlSec,
    async sign (userId: string, sessionId: string, now = new Date()): Promise<{ token: string, claims: AccessClaims }> {
      const iat = Math.floor(now.getTime() / 1000)
      const claims: AccessClaims = { sub: userId, sid: sessionId, jti: randomBytes(18).toString('base64url'), iat, exp: iat + ttlSec }
      const token = await new SignJWT({ sid: sessionId })
        .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
        .setIssuer(ISSUER).setAudience(AUDIENCE).setSubject(userId)
        .setJti(claims.jti).setIssuedAt(iat).setExpirationTime(claims.exp)
        .sign(key)
      return { token, claims }
    },
    /** Returns the claims, or undefined for any token that is not ours, not valid, or expired. */
    async verify (token: string): Promise<AccessClaims | undefined> {
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: [ALGORITHM], issuer: ISSUER, audience: AUDIENCE, requiredClaims: ['sub', 'sid', 'jti', 'exp', 'iat']
        })
        if (typeof payload.sid !== 'string') return undefined
        return { sub: payload.sub as string, sid: payload.sid, jti: payload.jti as string, exp: payload.exp as number, iat: payload.iat as number }
      } catch (error) {
        if (error instanceof errors.JOSEError) return undefined
        throw error
      }
    }
  }
}

export type TokenCodec = ReturnType<typeof tokenCodec>

/** Opaque bearer secrets (refresh tokens): 256 bits from the CSPRNG. */
export const newOpaqueToken = (): string => randomBytes(32).toString('base64url')
