import type { FastifyRequest } from 'fastify'
import type { DecodedJwt, JwtKey, JwtKeyResolver } from '../jwt/types.js'
import type { KeySource, KeySourceLifecycle, KeySourceLogger } from './source.js'

/** Picks the key for one token among the keys a source serves now (current first, then those in grace). */
export type JwtKeySelector<K> = (keys: readonly K[], decoded: DecodedJwt) => K | undefined

/**
 * Turns a key source into a `jwt.key` resolver, so JWT keys read from a PEM or JWK file follow
 * rotation like shared tokens: `jwt: { key: jwtKeyFrom(fromFile(path, { parse })), algorithms }`.
 * The plugin opens and closes the source through it, and the JWT cache is dropped on every change
 * (`keysVersion`). The default selector is {@link byKid}.
 */
export function jwtKeyFrom<K extends JwtKey> (source: KeySource<K>, select: JwtKeySelector<K> = byKid): JwtKeyResolver & Required<KeySourceLifecycle> {
  const resolver = function resolveJwtKey (request: FastifyRequest, decoded: DecodedJwt): K | undefined {
    return select(source(request), decoded)
  }
  return Object.defineProperties(resolver, {
    keysVersion: { get: () => source.keysVersion, enumerable: true },
    open: { value: (log: KeySourceLogger) => source.open(log), enumerable: true },
    close: { value: () => source.close(), enumerable: true }
  }) as JwtKeyResolver & Required<KeySourceLifecycle>
}

/**
 * The key whose `kid` (a JWK's) equals the token's `kid`, or none (401 unknown kid). When no key
 * carries a `kid` (a PEM file, an HMAC secret), the newest key: then a token signed with a key in
 * its grace window no longer verifies, so give keys ids where overlap matters.
 */
export function byKid<K extends JwtKey> (keys: readonly K[], decoded: DecodedJwt): K | undefined {
  let anyKid = false
  for (const key of keys) {
    const kid = kidOf(key)
    if (kid === undefined) continue
    anyKid = true
    if (kid === decoded.header.kid) return key
  }
  return anyKid ? undefined : keys[0]
}

function kidOf (key: JwtKey): unknown {
  if (typeof key !== 'object' || key instanceof Uint8Array || !('kid' in key)) return undefined
  return (key as { kid?: unknown }).kid
}
