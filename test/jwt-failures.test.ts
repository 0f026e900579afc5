import { test, type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import daprTokenAuth, { DAPRD_REFUSAL_BODY, fromJwks, signDaprJwt, type DaprTokenAuthOptions, type JwtKeyResolver } from '../lib/index.js'
import { listen, send } from './helpers/http.js'
import { b64, ecKeyPair, forgeHmac, nowSeconds, startJwksServer } from './helpers/jwt.js'

// Every client-caused JWT failure of issue 3, with its exact status and code, against the three key
// sources: a static public key, a key resolver picking by `kid`, and a JWKS served on 127.0.0.1
// (one `url`, or `issuers` where the token's `iss` picks the endpoint).

const ISSUER = 'https://issuer.test'
const AUDIENCE = 'dapr-app'
const SUBJECT = 'spiffe://cluster.local/ns/default/sa/caller'
const k1 = ecKeyPair('k1')
const stranger = ecKeyPair('k1') // same kid, other key: a forged signature

const claims = { iss: ISSUER, aud: AUDIENCE, sub: SUBJECT }
function sign (extra: Record<string, unknown> = {}, options: { kid?: string, expiresIn?: number | null, notBefore?: number, key?: typeof k1 } = {}): string {
  const { kid = 'k1', key = k1, ...rest } = options
  return signDaprJwt({ ...claims, ...extra }, { key: key.privateKey, kid, ...rest })
}

type Kind = 'static' | 'resolver' | 'jwks' | 'jwksIssuers'

interface Case {
  name: string
  token: () => string
  code: string
  only?: Kind[]
}

const cases: Case[] = [
  { name: 'junk (not three base64url parts)', token: () => 'not-a-jwt', code: 'FST_DAPR_TOKEN_MALFORMED' },
  { name: 'three parts but no JSON', token: () => `${b64('nope')}.${b64('nope')}.${b64('sig')}`, code: 'FST_DAPR_TOKEN_MALFORMED' },
  {
    name: 'bad signature (signed by another key)',
    token: () => {
      const good = sign()
      const other = sign({ other: true }, { key: stranger })
      return `${good.slice(0, good.lastIndexOf('.'))}${other.slice(other.lastIndexOf('.'))}`
    },
    code: 'FST_DAPR_TOKEN_BAD_SIGNATURE'
  },
  { name: 'signed by a stranger key with a known kid', token: () => sign({}, { key: stranger }), code: 'FST_DAPR_TOKEN_BAD_SIGNATURE' },
  { name: 'alg none with a signature part', token: () => `${b64({ alg: 'none', typ: 'JWT', kid: 'k1' })}.${b64({ ...claims, exp: nowSeconds() + 60 })}.${b64('sig')}`, code: 'FST_DAPR_TOKEN_UNSIGNED' },
  { name: 'alg NONE (any case) with a signature part', token: () => `${b64({ alg: 'NONE', kid: 'k1' })}.${b64({ ...claims, exp: nowSeconds() + 60 })}.${b64('sig')}`, code: 'FST_DAPR_TOKEN_UNSIGNED' },
  { name: 'alg none, empty signature', token: () => `${b64({ alg: 'none', typ: 'JWT', kid: 'k1' })}.${b64({ ...claims, exp: nowSeconds() + 60 })}.`, code: 'FST_DAPR_TOKEN_UNSIGNED' },
  {
    name: 'algorithm outside the pinned list (ES384 on a P-384 key with kid k1)',
    token: () => signDaprJwt(claims, { key: ecKeyPair('k1', 'P-384').privateKey, kid: 'k1' }),
    code: 'FST_DAPR_TOKEN_ALGORITHM'
  },
  {
    name: 'algorithm confusion: HS256 signed with the public key PEM as secret',
    token: () => forgeHmac({ alg: 'HS256', typ: 'JWT', kid: 'k1' }, { ...claims, exp: nowSeconds() + 60 }, k1.publicPem),
    code: 'FST_DAPR_TOKEN_ALGORITHM'
  },
  {
    name: 'algorithm confusion: HS256 signed with the JWK JSON as secret',
    token: () => forgeHmac({ alg: 'HS256', typ: 'JWT', kid: 'k1' }, { ...claims, exp: nowSeconds() + 60 }, JSON.stringify(k1.jwk)),
    code: 'FST_DAPR_TOKEN_ALGORITHM'
  },
  { name: 'expired (beyond the tolerance)', token: () => sign({ exp: nowSeconds() - 60 }, { expiresIn: null }), code: 'FST_DAPR_TOKEN_EXPIRED' },
  { name: 'nbf in the future (beyond the tolerance)', token: () => sign({}, { notBefore: 60 }), code: 'FST_DAPR_TOKEN_NOT_YET_VALID' },
  { name: 'wrong iss', token: () => sign({ iss: 'https://evil.test' }), code: 'FST_DAPR_TOKEN_CLAIM_MISMATCH' },
  { name: 'wrong aud', token: () => sign({ aud: 'other-app' }), code: 'FST_DAPR_TOKEN_CLAIM_MISMATCH' },
  { name: 'wrong sub', token: () => sign({ sub: 'someone-else' }), code: 'FST_DAPR_TOKEN_CLAIM_MISMATCH' },
  { name: 'array iss with one allowed element', token: () => sign({ iss: [ISSUER] }), code: 'FST_DAPR_TOKEN_CLAIM_MISMATCH' },
  { name: 'missing required claim (exp)', token: () => sign({}, { expiresIn: null }), code: 'FST_DAPR_TOKEN_MISSING_CLAIM' },
  { name: 'missing sub (an allowed-value option makes it required)', token: () => signDaprJwt({ iss: ISSUER, aud: AUDIENCE }, { key: k1.privateKey, kid: 'k1' }), code: 'FST_DAPR_TOKEN_MISSING_CLAIM' },
  { name: 'unknown kid', token: () => sign({}, { kid: 'nobody' }), code: 'FST_DAPR_TOKEN_UNKNOWN_KID', only: ['resolver', 'jwks', 'jwksIssuers'] },
  { name: 'no kid at all', token: () => signDaprJwt(claims, { key: k1.privateKey }), code: 'FST_DAPR_TOKEN_UNKNOWN_KID', only: ['resolver'] }
]

const common = {
  algorithms: ['ES256'] as const,
  audience: AUDIENCE,
  subject: SUBJECT,
  requiredClaims: ['exp'],
  clockTolerance: 5
}

async function setup (t: Test, kind: Kind, extra: Partial<DaprTokenAuthOptions> = {}): Promise<{ app: FastifyInstance, calls: () => number }> {
  let calls = 0
  let options: DaprTokenAuthOptions
  if (kind === 'static') {
    options = { jwt: { ...common, algorithms: ['ES256'], issuer: ISSUER, key: k1.publicPem } }
  } else if (kind === 'resolver') {
    const resolver: JwtKeyResolver = (_request, decoded) => {
      calls++
      return decoded.header.kid === 'k1' ? k1.publicKey : undefined
    }
    options = { jwt: { ...common, algorithms: ['ES256'], issuer: ISSUER, key: resolver } }
  } else {
    const jwks = await startJwksServer([k1.jwk])
    t.teardown(jwks.close)
    const resolver = kind === 'jwks' ? fromJwks({ url: jwks.url }) : fromJwks({ issuers: [{ issuer: ISSUER, jwksUri: jwks.url }] })
    t.teardown(() => resolver.close())
    calls = -1
    // With `issuers`, the JWKS resolver's own list is what refuses another `iss` (no `jwt.issuer` here).
    options = { jwt: { ...common, algorithms: ['ES256'], ...(kind === 'jwks' ? { issuer: ISSUER } : {}), key: resolver } }
  }
  const app = Fastify()
  await app.register(daprTokenAuth, { ...options, ...extra })
  app.get('/orders', async request => ({ daprToken: request.daprToken }))
  app.get('/healthz', async () => 'ok')
  t.teardown(() => app.close())
  return { app, calls: () => calls }
}

for (const kind of ['static', 'resolver', 'jwks', 'jwksIssuers'] as const) {
  test(`${kind} key: a valid token passes and every failure is a 401 with its own code`, async t => {
    const { app } = await setup(t, kind)
    const ok = await app.inject({ url: '/orders', headers: { 'dapr-api-token': sign() } })
    t.equal(ok.statusCode, 200)
    t.match(JSON.parse(ok.body), { daprToken: { kind: 'jwt', claims: { ...claims } } })

    for (const c of cases) {
      if (c.only !== undefined && !c.only.includes(kind)) continue
      const res = await app.inject({ url: '/orders', headers: { 'dapr-api-token': c.token() } })
      t.equal(res.statusCode, 401, `${c.name}: status`)
      t.equal(JSON.parse(res.body).code, c.code, `${c.name}: code`)
    }
    const health = await app.inject({ url: '/healthz' })
    t.equal(health.statusCode, 200, 'exemptions still apply')
  })

  test(`${kind} key over a real socket: valid token reaches the handler without the header; refusals are exact`, async t => {
    const { app } = await setup(t, kind)
    app.get('/echo', async request => ({ header: request.headers['dapr-api-token'] ?? null, claims: request.daprToken?.kind === 'jwt' ? request.daprToken.claims : null }))
    const { port } = await listen(app)
    const token = sign({ tenant: 'a' })
    const ok = await send(port, 'GET', '/echo', { 'dapr-api-token': token })
    t.equal(ok.statusCode, 200)
    const body = JSON.parse(ok.body)
    t.equal(body.header, null)
    t.equal(body.claims.tenant, 'a')
    t.notOk(ok.body.includes(token), 'the raw token is never echoed')

    const expired = await send(port, 'GET', '/echo', { 'dapr-api-token': sign({ exp: nowSeconds() - 60 }, { expiresIn: null }) })
    t.equal(expired.statusCode, 401)
    t.same(JSON.parse(expired.body), { statusCode: 401, code: 'FST_DAPR_TOKEN_EXPIRED', error: 'Unauthorized', message: 'Expired Dapr API token' })

    const twice = await send(port, 'GET', '/echo', ['host', '127.0.0.1', 'dapr-api-token', token, 'dapr-api-token', token])
    t.equal(twice.statusCode, 401)
    t.equal(JSON.parse(twice.body).code, 'FST_DAPR_TOKEN_DUPLICATE', 'two header lines, even with a valid token')

    const missing = await send(port, 'GET', '/echo')
    t.equal(JSON.parse(missing.body).code, 'FST_DAPR_TOKEN_MISSING')
  })

  test(`${kind} key in the sidecar role: every JWT failure gets daprd's text body`, async t => {
    const { app } = await setup(t, kind, { role: 'sidecar' })
    app.get('/v1.0/metadata', async () => ({ ok: true }))
    const { port } = await listen(app)
    for (const c of cases) {
      if (c.only !== undefined && !c.only.includes(kind)) continue
      const res = await send(port, 'GET', '/v1.0/metadata', { 'dapr-api-token': c.token() })
      t.equal(res.statusCode, 401, c.name)
      t.equal(res.headers['content-type'], 'text/plain; charset=utf-8', c.name)
      t.equal(res.headers['x-content-type-options'], 'nosniff', c.name)
      t.equal(res.body, DAPRD_REFUSAL_BODY, c.name)
    }
    const ok = await send(port, 'GET', '/v1.0/metadata', { 'dapr-api-token': sign() })
    t.equal(ok.statusCode, 200)
  })
}

test('the key resolver is called once per request, never again for an unknown kid', async t => {
  const { app, calls } = await setup(t, 'resolver')
  const unknown = sign({}, { kid: 'nobody' })
  const res = await app.inject({ url: '/orders', headers: { 'dapr-api-token': unknown } })
  t.equal(res.statusCode, 401)
  t.equal(JSON.parse(res.body).code, 'FST_DAPR_TOKEN_UNKNOWN_KID')
  t.equal(calls(), 1, 'one call, no re-entry')

  const token = sign()
  for (let i = 0; i < 5; i++) {
    t.equal((await app.inject({ url: '/orders', headers: { 'dapr-api-token': token } })).statusCode, 200)
  }
  t.equal(calls(), 6, 'once per request: a cache hit asks again (the key may depend on the request)')

  const confused = forgeHmac({ alg: 'HS256', kid: 'k1' }, { ...claims, exp: nowSeconds() + 60 }, k1.publicPem)
  await app.inject({ url: '/orders', headers: { 'dapr-api-token': confused } })
  t.equal(calls(), 6, 'a disallowed alg is refused before the resolver is asked')
})
