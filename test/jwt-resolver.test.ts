import { test, type Test } from 'tap'
import Fastify from 'fastify'
import { createSecretKey } from 'node:crypto'
import daprTokenAuth, { signDaprJwt, type JwtKey, type DaprJwtOptions } from '../lib/index.js'
import { jwtVerifier } from '../lib/jwt/verify.js'
import { ecKeyPair, forgeHmac, HS_SECRET, nowSeconds } from './helpers/jwt.js'

const k1 = ecKeyPair('k1')

async function appWith (t: Test, jwt: DaprJwtOptions) {
  const logs: Array<{ level: number, msg: string }> = []
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => { logs.push(JSON.parse(line)) } } } })
  await app.register(daprTokenAuth, { jwt })
  app.get('/', async request => request.daprToken)
  t.teardown(() => app.close())
  const call = async (token: string): Promise<[number, string | undefined]> => {
    const res = await app.inject({ url: '/', headers: { 'dapr-api-token': token } })
    return [res.statusCode, JSON.parse(res.body).code]
  }
  return { call, logs }
}

test('a resolver returning an empty key is a 401, never an empty-secret forgery', async t => {
  for (const empty of ['', '  ', Buffer.alloc(0), { kty: 'oct', k: '' }, createSecretKey(Buffer.alloc(0))] as JwtKey[]) {
    let calls = 0
    const { call } = await appWith(t, { key: () => { calls++; return empty }, algorithms: ['HS256'] })
    t.same(await call(signDaprJwt({}, { key: HS_SECRET })), [401, 'FST_DAPR_TOKEN_UNUSABLE_KEY'])
    t.equal(calls, 1)
  }
})

test('a resolver key that does not fit the token\'s alg is refused (a public key never becomes an HMAC secret)', async t => {
  const { call } = await appWith(t, { key: () => k1.publicPem, algorithms: ['HS256'] })
  t.same(await call(forgeHmac({ alg: 'HS256', typ: 'JWT' }, { exp: nowSeconds() + 60 }, k1.publicPem)), [401, 'FST_DAPR_TOKEN_ALGORITHM'])
  const mixed = await appWith(t, { key: (_r, d) => d.header.kid === 'ec' ? k1.publicKey : ecKeyPair('x', 'P-384').publicKey, algorithms: ['ES256', 'ES384'] })
  t.same(await mixed.call(signDaprJwt({}, { key: k1.privateKey, kid: 'ec' })), [200, undefined])
  t.same(await mixed.call(signDaprJwt({}, { key: k1.privateKey, kid: 'p384' })), [401, 'FST_DAPR_TOKEN_ALGORITHM'], 'ES256 token, P-384 key')
  const rsaOnly = await appWith(t, { key: () => k1.publicKey, algorithms: ['RS256'] })
  t.same(await rsaOnly.call(signDaprJwt({}, { key: k1.privateKey })), [401, 'FST_DAPR_TOKEN_ALGORITHM'])
})

test('an async resolver works; string keys and JWK objects are accepted; a private key is unusable', async t => {
  const { call } = await appWith(t, { key: async () => HS_SECRET, algorithms: ['HS256'] })
  t.same(await call(signDaprJwt({}, { key: HS_SECRET })), [200, undefined])
  t.same(await call(signDaprJwt({ a: 1 }, { key: HS_SECRET })), [200, undefined])
  const jwk = await appWith(t, { key: () => ({ ...k1.jwk }), algorithms: ['ES256'] })
  t.same(await jwk.call(signDaprJwt({}, { key: k1.privateKey })), [200, undefined])
  const priv = await appWith(t, { key: () => k1.privateKey, algorithms: ['ES256'] })
  t.same(await priv.call(signDaprJwt({}, { key: k1.privateKey })), [401, 'FST_DAPR_TOKEN_UNUSABLE_KEY'])
  const nul = await appWith(t, { key: () => null, algorithms: ['ES256'] })
  t.same(await nul.call(signDaprJwt({}, { key: k1.privateKey })), [401, 'FST_DAPR_TOKEN_UNKNOWN_KID'])
})

test('a resolver that throws or rejects: a generic 500, logged at error, its message never sent', async t => {
  const { call, logs } = await appWith(t, { key: () => { throw new Error('vault at 10.0.0.1 said no') }, algorithms: ['HS256'] })
  t.same(await call(signDaprJwt({}, { key: HS_SECRET })), [500, 'FST_DAPR_TOKEN_RESOLVER_FAILED'])
  t.ok(logs.some(line => line.level === 50))
  const rejecting = await appWith(t, { key: async () => { throw new Error('down') }, algorithms: ['HS256'] })
  t.same(await rejecting.call(signDaprJwt({}, { key: HS_SECRET })), [500, 'FST_DAPR_TOKEN_RESOLVER_FAILED'])
})

test('many distinct string keys from a resolver: remembered verifiers stay bounded and correct', async t => {
  const secrets = Array.from({ length: 70 }, (_, i) => `secret-number-${i}-padding-padding-padding`)
  const { call } = await appWith(t, { key: (_r, d) => secrets[Number(d.header.kid)], algorithms: ['HS256'], cache: false })
  for (let i = 0; i < secrets.length; i++) {
    const res = await call(signDaprJwt({}, { key: secrets[i] as string, kid: String(i) }))
    if (res[0] !== 200) t.fail(`key ${i}`)
  }
  t.same(await call(signDaprJwt({}, { key: secrets[0] as string, kid: '1' })), [401, 'FST_DAPR_TOKEN_BAD_SIGNATURE'])
  t.same(await call(signDaprJwt({}, { key: secrets[69] as string, kid: '69' })), [200, undefined])
})

test('cache: a hit re-asks the resolver but not the crypto, ends at exp, and is dropped when keysVersion changes', async t => {
  let calls = 0
  const resolver = Object.assign((): JwtKey => { calls++; return createSecretKey(Buffer.from(HS_SECRET)) }, { keysVersion: 1 })
  const verifier = jwtVerifier({ key: resolver, algorithms: ['HS256'] }, 'dapr-api-token')
  const request = {} as never
  const token = signDaprJwt({ role: 'x', nested: { list: [1] } }, { key: HS_SECRET })
  const first = verifier.verify(token, request)
  t.match(first, { kind: 'jwt', claims: { role: 'x' } })
  t.equal(verifier.verify(token, request), first, 'the same frozen credential: a fresh KeyObject with the same material is the same key')
  t.equal(calls, 2, 'the resolver is asked on the hit too')
  t.ok(Object.isFrozen(first) && Object.isFrozen((first as any).claims.nested.list), 'claims deeply frozen')
  resolver.keysVersion = 2
  t.not(verifier.verify(token, request), first, 'keys changed: verified again')
  t.equal(calls, 3)
})

test('cache: a cached success is never used past the token\'s exp', async t => {
  const verifier = jwtVerifier({ key: () => HS_SECRET, algorithms: ['HS256'], clockTolerance: 2 }, 'dapr-api-token')
  const token = signDaprJwt({}, { key: HS_SECRET, expiresIn: 30 })
  const first = verifier.verify(token, {} as never)
  t.match(first, { kind: 'jwt' })
  t.equal(verifier.verify(token, {} as never), first, 'served from the cache')
  const realNow = Date.now
  t.teardown(() => { Date.now = realNow })
  Date.now = () => realNow() + 33_000 // past exp + tolerance, within the cache TTL
  t.equal(verifier.verify(token, {} as never), 'expired', 'the cache did not answer')
})

test('cache: a hit whose asynchronous resolver answers after the token expired is refused as expired, over a real socket', async t => {
  const token = signDaprJwt({}, { key: HS_SECRET, expiresIn: 60 })
  const realNow = Date.now
  t.teardown(() => { Date.now = realNow })
  let slow = false
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(daprTokenAuth, {
    jwt: {
      algorithms: ['HS256'],
      key: async () => {
        // The resolver takes its time: by its answer, the token's exp (and the tolerance) have passed.
        if (slow) Date.now = () => realNow() + 120_000
        return HS_SECRET
      }
    }
  })
  app.get('/hello', async () => 'hello')
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const first = await fetch(`${base}/hello`, { headers: { 'dapr-api-token': token } })
  t.equal(first.status, 200, 'verified, and cached')
  t.equal(await first.text(), 'hello')
  slow = true
  const late = await fetch(`${base}/hello`, { headers: { 'dapr-api-token': token } })
  t.equal(late.status, 401)
  t.same(await late.json(), { statusCode: 401, code: 'FST_DAPR_TOKEN_EXPIRED', error: 'Unauthorized', message: 'Expired Dapr API token' })
})

test('cache bounded: the token unused longest goes first (second chance); off with cache: false', async t => {
  const verifier = jwtVerifier({ key: () => HS_SECRET, algorithms: ['HS256'], cache: { max: 2, ttl: 60 } }, 'dapr-api-token')
  const request = {} as never
  const [a, b, c] = [1, 2, 3].map(n => signDaprJwt({ n }, { key: HS_SECRET })) as [string, string, string]
  const first = { a: verifier.verify(a, request), b: verifier.verify(b, request) }
  t.equal(verifier.verify(a, request), first.a)
  verifier.verify(c, request)
  t.equal(verifier.verify(a, request), first.a, 'a stayed cached (used recently)')
  const again = verifier.verify(b, request)
  t.match(again, { kind: 'jwt' })
  t.not(again, first.b, 'b was evicted by c')

  const uncached = jwtVerifier({ key: () => HS_SECRET, algorithms: ['HS256'], cache: false }, 'dapr-api-token')
  t.not(uncached.verify(a, request), uncached.verify(a, request))
})

test('refusals never take cache slots: a flood of bad tokens does not evict a good one', async t => {
  const verifier = jwtVerifier({ key: () => HS_SECRET, algorithms: ['HS256'], cache: { max: 1 } }, 'dapr-api-token')
  const good = signDaprJwt({}, { key: HS_SECRET })
  const first = verifier.verify(good, {} as never)
  t.match(first, { kind: 'jwt' })
  for (let i = 0; i < 200; i++) {
    const bad = signDaprJwt({ i }, { key: 'wrong-secret-wrong-secret-wrong-secret' })
    if (verifier.verify(bad, {} as never) !== 'signature') t.fail(`bad token ${i} accepted`)
  }
  t.equal(verifier.verify(good, {} as never), first, 'still cached')
})

test('maxAge: the token must have an iat, younger than maxAge; a cached success ends with it', async t => {
  const { call } = await appWith(t, { key: HS_SECRET, algorithms: ['HS256'], maxAge: 60 })
  t.same(await call(signDaprJwt({}, { key: HS_SECRET })), [200, undefined])
  t.same(await call(signDaprJwt({ iat: nowSeconds() - 120 }, { key: HS_SECRET })), [401, 'FST_DAPR_TOKEN_EXPIRED'])
  const resolverBased = jwtVerifier({ key: () => HS_SECRET, algorithms: ['HS256'], maxAge: 60, clockTolerance: 1 }, 'dapr-api-token')
  t.match(resolverBased.verify(signDaprJwt({}, { key: HS_SECRET }), {} as never), { kind: 'jwt' })
})
