import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import bearerAuth from '@fastify/bearer-auth'
import fastifyJwt from '@fastify/jwt'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import daprTokenAuth, { signDaprJwt, type DaprTokenAuthOptions } from '../lib/index.js'

/** The token every scenario accepts (32 random-looking bytes, base64url, as `generate` prints). */
export const TOKEN = 'q3rWm0b8cJ1Z7nYt4kVx2hLs9dPe6fGu5aRo0iTw3yE'
const OTHER_TOKENS = ['bV8sK2mQ7xR1tN4pL9wZ3cF6hJ0dG5yA8eU2iO7kM1n', 'Zr5tY8uI1oP4aS7dF0gH3jK6lX9cV2bN5mQ8wE1rT4y']
const WRONG_TOKEN = 'x'.repeat(TOKEN.length)
const JWT_SECRET = 'bench-secret-of-at-least-thirty-two-bytes!'
const JWT = createSigner({ key: JWT_SECRET })({ sub: 'bench' })

/** One HTTP configuration to measure: how the server is set up, and the request the load generator sends. */
export interface HttpScenario {
  readonly name: string
  /** What the row means, for RESULTS.md. */
  readonly label: string
  /** Registers plugins and hooks; the server then adds `GET /hello` and `GET /healthz`. */
  setup (app: FastifyInstance): unknown
  readonly path: '/hello' | '/healthz'
  /** The request headers; computed in the server process when they hold a token signed with a key made there. */
  readonly headers: Record<string, string> | (() => Record<string, string>)
  /** The status every request must get: checked before measuring, so a misconfigured row cannot pass as fast. */
  readonly status: number
}

const withToken = { 'dapr-api-token': TOKEN }

/**
 * Every HTTP row, in table order. `plain` is the one the others are compared with (bench/run.ts
 * finds it by name). A new mode (JWT HS256/RS256/ES256, cache on and off) is one more entry.
 */
export const HTTP_SCENARIOS: readonly HttpScenario[] = [
  { name: 'plain', label: 'plain Fastify, no hook (the limit)', setup: () => {}, path: '/hello', headers: withToken, status: 200 },
  // Identical to `plain`: its ratios are what the machine's noise alone does to a server that adds nothing.
  { name: 'plain-again', label: 'plain Fastify again (the same server: the machine\'s noise)', setup: () => {}, path: '/hello', headers: withToken, status: 200 },
  { name: 'bare-eq', label: 'a bare `===` onRequest hook (reference)', setup: bareEqualityHook, path: '/hello', headers: withToken, status: 200 },
  { name: 'static-1', label: 'this plugin, 1 static token', setup: app => app.register(daprTokenAuth, { token: TOKEN }), path: '/hello', headers: withToken, status: 200 },
  { name: 'static-1-keep', label: 'this plugin, 1 static token, `stripHeader: false`', setup: app => app.register(daprTokenAuth, { token: TOKEN, stripHeader: false }), path: '/hello', headers: withToken, status: 200 },
  { name: 'static-3', label: 'this plugin, 3 static tokens (presenting the last)', setup: app => app.register(daprTokenAuth, { token: [...OTHER_TOKENS, TOKEN] }), path: '/hello', headers: withToken, status: 200 },
  { name: 'sidecar-refuse', label: 'this plugin, sidecar role, refusing every request (attack flood)', setup: app => app.register(daprTokenAuth, { role: 'sidecar', token: TOKEN }), path: '/hello', headers: { 'dapr-api-token': WRONG_TOKEN }, status: 401 },
  { name: 'exempt', label: 'this plugin, exempt route (`GET /healthz`, no token)', setup: app => app.register(daprTokenAuth, { token: TOKEN }), path: '/healthz', headers: {}, status: 200 },
  { name: 'bearer-auth', label: '`@fastify/bearer-auth`, one key', setup: app => app.register(bearerAuth, { keys: new Set([TOKEN]) }), path: '/hello', headers: { authorization: `Bearer ${TOKEN}` }, status: 200 },
  { name: 'fastify-jwt', label: '`@fastify/jwt` with its defaults (HS256)', setup: fastifyJwtDefaults, path: '/hello', headers: { authorization: `Bearer ${JWT}` }, status: 200 },
  jwtRow('HS256', false),
  jwtRow('HS256', true),
  jwtRow('RS256', false),
  jwtRow('RS256', true),
  jwtRow('ES256', false),
  jwtRow('ES256', true)
]

type JwtAlg = 'HS256' | 'RS256' | 'ES256'

/** Keys for the JWT rows, made once per process (an RSA key takes a while), with a token each signs. */
const jwtFixtures = new Map<JwtAlg, { verifyKey: string | KeyObject, token: string }>()
export function jwtFixture (alg: JwtAlg): { verifyKey: string | KeyObject, token: string } {
  let fixture = jwtFixtures.get(alg)
  if (fixture === undefined) {
    const pair = alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) : undefined
    const verifyKey = pair === undefined ? JWT_SECRET : pair.publicKey
    fixture = { verifyKey, token: signDaprJwt({ sub: 'bench' }, { key: pair === undefined ? JWT_SECRET : pair.privateKey, expiresIn: 3600 }) }
    jwtFixtures.set(alg, fixture)
  }
  return fixture
}

/** This plugin's `jwt` option for `alg`, the verification cache on or off. */
export function jwtOptions (alg: JwtAlg, cache: boolean): DaprTokenAuthOptions {
  return { jwt: { key: jwtFixture(alg).verifyKey, algorithms: [alg], cache } }
}

function jwtRow (alg: JwtAlg, cache: boolean): HttpScenario {
  return {
    name: `jwt-${alg.toLowerCase()}${cache ? '-cache' : ''}`,
    label: `this plugin, JWT ${alg}, cache ${cache ? 'on' : 'off'}`,
    setup: app => app.register(daprTokenAuth, jwtOptions(alg, cache)),
    path: '/hello',
    headers: () => ({ 'dapr-api-token': jwtFixture(alg).token }),
    status: 200
  }
}

function bareEqualityHook (app: FastifyInstance): void {
  app.addHook('onRequest', function bareEquality (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) {
    if (request.headers['dapr-api-token'] === TOKEN) return done()
    reply.code(401).send()
  })
}

async function fastifyJwtDefaults (app: FastifyInstance): Promise<void> {
  await app.register(fastifyJwt, { secret: JWT_SECRET })
  app.addHook('onRequest', async request => { await request.jwtVerify() })
}
