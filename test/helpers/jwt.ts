import { createHmac, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import { listen } from './http.js'

/** Test key material, made once per process (key generation is the slow part). */
export const HS_SECRET = 'test-hmac-secret-of-at-least-64-bytes-so-that-hs512-may-use-it-too!'

export interface TestKeyPair {
  kid: string
  publicKey: KeyObject
  privateKey: KeyObject
  publicPem: string
  jwk: JsonWebKey
}

export function ecKeyPair (kid: string, namedCurve = 'P-256'): TestKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve })
  return {
    kid,
    publicKey,
    privateKey,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'ES256' }
  }
}

export function b64 (value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
}

/** A token with any header and payload, signed (HMAC) with any secret: what an attacker can send. */
export function forgeHmac (header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | Buffer, digest = `sha${String(header.alg).slice(2)}`): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${createHmac(digest, secret).update(input).digest('base64url')}`
}

/** Now in seconds, as JWT claims count. */
export function nowSeconds (): number {
  return Math.floor(Date.now() / 1000)
}

/** A Fastify server on 127.0.0.1 serving a JWKS, counting fetches; `keys` can be swapped, the server closed. */
export interface JwksServer {
  url: string
  fetches: number
  keys: JsonWebKey[]
  /** `'ok'` serves the keys; a number answers that status; `'hang'` never answers. */
  mode: 'ok' | 'hang' | number
  app: FastifyInstance
  close: () => Promise<void>
}

export async function startJwksServer (keys: JsonWebKey[]): Promise<JwksServer> {
  // A hanging request must not hold up close().
  const app = Fastify({ forceCloseConnections: true })
  const server: JwksServer = {
    url: '',
    fetches: 0,
    keys,
    mode: 'ok',
    app,
    close: async () => { await app.close() }
  }
  app.get('/jwks.json', (_request, reply) => {
    server.fetches++
    if (server.mode === 'hang') return
    if (server.mode !== 'ok') return reply.code(server.mode).send({ error: 'down' })
    return reply.send({ keys: server.keys })
  })
  const { url } = await listen(app)
  server.url = `${url}/jwks.json`
  return server
}
