import { test, type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { Readable } from 'node:stream'
import daprTokenAuth, { fromJwks, signDaprJwt, DaprTokenOptionsError, type FromJwksOptions, type JwksResolver } from '../lib/index.js'
import { listen, send } from './helpers/http.js'
import { ecKeyPair, startJwksServer, type JwksServer } from './helpers/jwt.js'

const k1 = ecKeyPair('k1')
const k2 = ecKeyPair('k2')
const token = (key = k1, claims: Record<string, unknown> = {}): string => signDaprJwt({ sub: 'caller', ...claims }, { key: key.privateKey, kid: key.kid })

interface Setup {
  app: FastifyInstance
  jwks: JwksServer
  resolver: JwksResolver
  logs: Array<{ level: number, msg: string, err?: { message?: string } }>
  call: (tok: string) => Promise<{ statusCode: number, body: any }>
}

async function setup (t: Test, options: Partial<FromJwksOptions> = {}, keys = [k1.jwk]): Promise<Setup> {
  const jwks = await startJwksServer(keys)
  t.teardown(jwks.close)
  const resolver = fromJwks({ url: jwks.url, ...options })
  t.teardown(() => resolver.close())
  const logs: Setup['logs'] = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { logs.push(JSON.parse(line)) } } } })
  await app.register(daprTokenAuth, { jwt: { key: resolver, algorithms: ['ES256'] } })
  app.get('/orders', async request => ({ daprToken: request.daprToken }))
  t.teardown(() => app.close())
  const call = async (tok: string): Promise<{ statusCode: number, body: any }> => {
    const res = await app.inject({ url: '/orders', headers: { 'dapr-api-token': tok } })
    return { statusCode: res.statusCode, body: JSON.parse(res.body) }
  }
  return { app, jwks, resolver, logs, call }
}

const UNAVAILABLE = {
  statusCode: 503,
  code: 'FST_DAPR_TOKEN_KEY_SOURCE_UNAVAILABLE',
  error: 'Service Unavailable',
  message: 'Dapr API token verification is temporarily unavailable'
}

test('a token whose kid is unknown, sent 1,000 times, fetches the JWKS once (cooldown)', async t => {
  const { jwks, call } = await setup(t)
  const unknown = token(k2)
  for (let i = 0; i < 1000; i++) {
    const res = await call(unknown)
    if (res.statusCode !== 401 || res.body.code !== 'FST_DAPR_TOKEN_UNKNOWN_KID') t.fail(`request ${i}: ${res.statusCode}`)
  }
  t.equal(jwks.fetches, 1)
  t.equal((await call(token())).statusCode, 200, 'known keys still verify')
  t.equal(jwks.fetches, 1)
})

test('JWKS going down after first use: cached keys keep verifying; a kid that cannot be looked up is a 503 logged at error', async t => {
  const { jwks, call, logs } = await setup(t, { cooldownMs: 0 })
  t.equal((await call(token())).statusCode, 200)
  await jwks.close()
  t.equal((await call(token(k1, { n: 2 }))).statusCode, 200, 'a new token with a cached key verifies with the endpoint down')
  const unknown = await call(token(k2))
  t.equal(unknown.statusCode, 503)
  t.same(unknown.body, UNAVAILABLE)
  t.ok(logs.some(line => line.level === 50 && line.msg === 'Dapr API token key source failed'), 'logged at error')
})

test('JWKS unreachable with no cached key: 503 with a generic body, logged at error, retried at a bounded rate', async t => {
  const { jwks, call, logs } = await setup(t, { retryMs: 60_000 })
  jwks.mode = 500
  const first = await call(token())
  t.equal(first.statusCode, 503)
  t.same(first.body, UNAVAILABLE)
  t.equal(jwks.fetches, 1)
  const errorLine = logs.find(line => line.level === 50)
  t.equal(errorLine?.msg, 'Dapr API token key source failed')
  t.notOk(JSON.stringify(logs).includes(token()), 'no token in the logs')
  jwks.mode = 'ok'
  const second = await call(token())
  t.equal(second.statusCode, 503, 'within retryMs: no new fetch, still 503')
  t.equal(jwks.fetches, 1)
})

test('JWKS back after a failure: the next attempt after retryMs succeeds', async t => {
  const { jwks, call } = await setup(t, { retryMs: 0 })
  jwks.mode = 502
  t.equal((await call(token())).statusCode, 503)
  jwks.mode = 'ok'
  t.equal((await call(token())).statusCode, 200)
  t.equal(jwks.fetches, 2)
})

test('a hanging JWKS endpoint does not hang the request: the fetch times out into a 503', async t => {
  const { jwks, call } = await setup(t, { timeoutMs: 100 })
  jwks.mode = 'hang'
  const res = await call(token())
  t.equal(res.statusCode, 503)
  t.same(res.body, UNAVAILABLE)
})

test('the JWKS endpoint closed from the start (connection refused): 503 over a real socket', async t => {
  const { jwks, app } = await setup(t)
  await jwks.close()
  const { port } = await listen(app)
  const res = await send(port, 'GET', '/orders', { 'dapr-api-token': token() })
  t.equal(res.statusCode, 503)
  t.same(JSON.parse(res.body), UNAVAILABLE)
})

test('concurrent first requests share one fetch', async t => {
  const { jwks, call } = await setup(t)
  const results = await Promise.all([call(token()), call(token(k1, { a: 1 })), call(token(k1, { a: 2 }))])
  t.same(results.map(r => r.statusCode), [200, 200, 200])
  t.equal(jwks.fetches, 1)
})

test('a rotated-in key is fetched on its first token; a removed key stops verifying, cached tokens included', async t => {
  const { jwks, call, resolver } = await setup(t, { cooldownMs: 0 })
  const old = token()
  t.equal((await call(old)).statusCode, 200)
  t.equal(resolver.keysVersion, 0)
  jwks.keys = [k2.jwk]
  t.equal((await call(token(k2))).statusCode, 200, 'unknown kid triggers a refresh that finds it')
  t.equal(resolver.keysVersion, 1, 'the key set changed')
  const again = await call(old)
  t.equal(again.statusCode, 401, 'the cached verification was dropped with the old keys')
  t.equal(again.body.code, 'FST_DAPR_TOKEN_UNKNOWN_KID')
})

test('an unchanged key set keeps cached verifications', async t => {
  const { jwks, call, resolver } = await setup(t, { cooldownMs: 0 })
  t.equal((await call(token())).statusCode, 200)
  t.equal((await call(token(k2))).statusCode, 401)
  t.equal(jwks.fetches, 2)
  t.equal(resolver.keysVersion, 0)
})

test('old keys are refreshed in the background after maxAgeMs; a failed refresh keeps them', async t => {
  const { jwks, call, logs } = await setup(t, { maxAgeMs: 0, cooldownMs: 0 })
  t.equal((await call(token(k1, { a: 1 }))).statusCode, 200)
  jwks.mode = 500
  t.equal((await call(token(k1, { a: 2 }))).statusCode, 200, 'answered from the cached keys while a refresh runs beside it')
  // Bounded wait for the background refresh to fail and say so.
  for (let i = 0; i < 100 && !logs.some(line => line.level === 40); i++) await new Promise(resolve => setTimeout(resolve, 10))
  t.equal(jwks.fetches, 2, 'a background refresh ran')
  t.ok(logs.some(line => line.level === 40 && line.msg === 'JWKS refresh failed: verifying with the cached keys'))
  jwks.mode = 'ok'
  t.equal((await call(token(k1, { a: 3 }))).statusCode, 200)
})

test('issuers: the token\'s iss selects among the configured endpoints only', async t => {
  const a = await startJwksServer([k1.jwk])
  const b = await startJwksServer([{ ...k2.jwk, kid: 'k1' }])
  t.teardown(a.close)
  t.teardown(b.close)
  const resolver = fromJwks({ issuers: [{ issuer: 'https://a.test', jwksUri: a.url }, { issuer: 'https://b.test', jwksUri: new URL(b.url) }] })
  t.teardown(() => resolver.close())
  const app = Fastify()
  await app.register(daprTokenAuth, { jwt: { key: resolver, algorithms: ['ES256'] } })
  app.get('/', async request => request.daprToken)
  t.teardown(() => app.close())
  const call = async (claims: Record<string, unknown>, key = k1): Promise<[number, string | undefined]> => {
    const res = await app.inject({ url: '/', headers: { 'dapr-api-token': signDaprJwt(claims, { key: key.privateKey, kid: 'k1' }) } })
    return [res.statusCode, JSON.parse(res.body).code]
  }
  t.same(await call({ iss: 'https://a.test' }), [200, undefined])
  t.same(await call({ iss: 'https://b.test' }), [401, 'FST_DAPR_TOKEN_BAD_SIGNATURE'], 'b\'s key k1 is another key')
  t.same(await call({ iss: 'https://b.test' }, k2), [200, undefined])
  t.same(await call({ iss: 'https://evil.test' }), [401, 'FST_DAPR_TOKEN_CLAIM_MISMATCH'], 'an unlisted issuer is never fetched')
  t.same(await call({ iss: ['https://a.test'] }), [401, 'FST_DAPR_TOKEN_CLAIM_MISMATCH'], 'an array iss selects nothing')
  t.same(await call({}), [401, 'FST_DAPR_TOKEN_MISSING_CLAIM'], 'no iss: a missing claim, as with jwt.issuer')
  t.same(resolver.issuers, ['https://a.test', 'https://b.test'])
  const header = { alg: 'ES256', kid: 'k1' }
  t.equal(await resolver({} as never, { header, payload: { iss: 'https://evil.test' } }), undefined, 'called directly (wrapped), another iss still finds no key')
  t.equal(await resolver({} as never, { header, payload: { iss: ['https://a.test'] } as never }), undefined)
  t.equal(a.fetches + b.fetches, 2)
})

test('a jwt.issuer that allows none of fromJwks\'s issuers is refused at registration; one that allows some narrows them', async t => {
  const resolver = fromJwks({ issuers: ['https://a.test', 'https://b.test'] })
  t.teardown(() => resolver.close())
  const refused = Fastify()
  await t.rejects(async () => await refused.register(daprTokenAuth, { jwt: { key: resolver, algorithms: ['ES256'], issuer: 'https://c.test' } }).ready(), {
    code: 'FST_DAPR_TOKEN_OPTIONS',
    message: /`jwt.issuer` allows none of the resolver's issuers \(https:\/\/a.test, https:\/\/b.test\): every token would be refused$/
  })
  await refused.close()
  const app = Fastify()
  await app.register(daprTokenAuth, { jwt: { key: resolver, algorithms: ['ES256'], issuer: ['https://c.test', 'https://b.test'] } })
  await app.ready()
  await app.close()
  t.pass('an issuer list that shares one with the resolver registers')
})

test('endpoint answers that are refused: redirect, oversized, not JSON, not a key set, broken key', async t => {
  const app = Fastify()
  app.get('/redirect', (_req, reply) => reply.redirect('/jwks'))
  app.get('/jwks', async () => ({ keys: [k1.jwk] }))
  app.get('/large', (_req, reply) => reply.header('content-type', 'application/json').send(JSON.stringify({ keys: [k1.jwk], pad: 'x'.repeat(1024 * 1024) })))
  app.get('/large-chunked', (_req, reply) => reply.header('content-type', 'application/json').send(Readable.from([JSON.stringify({ keys: [k1.jwk], pad: 'x'.repeat(1024 * 1024) })])))
  app.get('/text', (_req, reply) => reply.send('not json'))
  app.get('/notaset', async () => ({ nokeys: true }))
  app.get('/broken', async () => ({ keys: [{ ...k1.jwk, x: 'AAAA' }] }))
  const { url } = await listen(app)
  t.teardown(() => app.close())
  for (const path of ['/redirect', '/large', '/large-chunked', '/text', '/notaset', '/broken']) {
    const resolver = fromJwks({ url: url + path })
    const verifying = Fastify()
    await verifying.register(daprTokenAuth, { jwt: { key: resolver, algorithms: ['ES256'] } })
    verifying.get('/', async () => 'ok')
    const res = await verifying.inject({ url: '/', headers: { 'dapr-api-token': token() } })
    t.equal(res.statusCode, 503, path)
    t.equal(JSON.parse(res.body).code, 'FST_DAPR_TOKEN_KEY_SOURCE_UNAVAILABLE', path)
    resolver.close()
    await verifying.close()
  }
})

// Regression: a body without a length was read whole (30 MB here) before the 1 MiB limit was applied.
test('a JWKS body sent without a length stops being read once past 1 MiB: a 503, and most of it never sent', async t => {
  const TOTAL = 32 * 1024 * 1024
  const CHUNK = 64 * 1024
  let produced = 0
  const app = Fastify()
  app.get('/endless', (_req, reply) => {
    const body = new Readable({
      highWaterMark: CHUNK,
      read () {
        if (produced >= TOTAL) return this.push(null)
        produced += CHUNK
        this.push(Buffer.alloc(CHUNK, 0x20))
      }
    })
    return reply.header('content-type', 'application/json').send(body)
  })
  const { url } = await listen(app)
  t.teardown(() => app.close())
  const resolver = fromJwks({ url: `${url}/endless` })
  t.teardown(() => resolver.close())
  const verifying = Fastify()
  await verifying.register(daprTokenAuth, { jwt: { key: resolver, algorithms: ['ES256'] } })
  verifying.get('/', async () => 'ok')
  t.teardown(() => verifying.close())
  const res = await verifying.inject({ url: '/', headers: { 'dapr-api-token': token() } })
  t.equal(res.statusCode, 503)
  t.same(JSON.parse(res.body), { statusCode: 503, code: 'FST_DAPR_TOKEN_KEY_SOURCE_UNAVAILABLE', error: 'Service Unavailable', message: 'Dapr API token verification is temporarily unavailable' })
  t.ok(produced < TOTAL / 2, `the endpoint was stopped early (${produced} of ${TOTAL} bytes made)`)
})

test('a set with several fitting keys needs a kid; an alg jose will not take from a JWKS is an unknown key', async t => {
  const { call } = await setup(t, {}, [{ ...k1.jwk, kid: undefined }, { ...k2.jwk, kid: undefined }])
  const noKid = await call(signDaprJwt({}, { key: k1.privateKey }))
  t.equal(noKid.body.code, 'FST_DAPR_TOKEN_UNKNOWN_KID')

  const jwks = await startJwksServer([k1.jwk])
  t.teardown(jwks.close)
  const resolver = fromJwks({ url: jwks.url })
  const refused = Fastify()
  await t.rejects(async () => await refused.register(daprTokenAuth, { jwt: { key: resolver, algorithms: ['HS256'] } }).ready(), {
    code: 'FST_DAPR_TOKEN_OPTIONS',
    message: /`jwt.algorithms`: fromJwks serves public keys, which never verify an HMAC \(HS\*\) token: pin the algorithms your issuer signs with/
  }, 'an HMAC pin with fromJwks is refused at registration')
  await refused.close()
  // Wrapped in a resolver of one's own, the pin gets as far as jose, which finds no key for it.
  const app = Fastify()
  await app.register(daprTokenAuth, { jwt: { key: async (request, decoded) => await resolver(request, decoded), algorithms: ['HS256'] } })
  app.get('/', async () => 'ok')
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/', headers: { 'dapr-api-token': signDaprJwt({}, { key: 'a-secret-a-secret-a-secret-a-secret', kid: 'k1' }) } })
  t.equal(JSON.parse(res.body).code, 'FST_DAPR_TOKEN_UNKNOWN_KID')
})

test('close() aborts: later lookups that need a fetch are a 503', async t => {
  const { resolver, call, jwks } = await setup(t)
  resolver.close()
  t.equal((await call(token())).statusCode, 503)
  t.equal(jwks.fetches, 0)
})

test('fromJwks options are checked at creation', async t => {
  const bad: Array<[unknown, RegExp]> = [
    [null, /options must be an object/],
    [{}, /pass `url`, or `issuers`/],
    [{ issuers: [] }, /pass `url`, or `issuers`/],
    [{ url: 'https://a.test/jwks', issuers: ['https://a.test'] }, /not both/],
    [{ url: 'not a url' }, /is not a URL/],
    [{ url: 'http://idp.example/jwks' }, /^Invalid fastify-dapr-token-auth options: fromJwks: a JWKS or issuer URL must be https \(http only on the loopback interface, or with allowHttp\)$/],
    [{ url: 'ftp://idp.example/jwks' }, /: a JWKS or issuer URL must be https \(/],
    [{ issuers: [{ issuer: '' }] }, /non-empty string/],
    [{ issuers: ['dapr'] }, /is not a URL/],
    [{ url: 'https://a.test/jwks', timeoutMs: -1 }, /timeoutMs/],
    [{ url: 'https://a.test/jwks', cooldownMs: 'soon' }, /cooldownMs/],
    // Regression: misspelt names were ignored, leaving the defaults (or, for `jwks_uri`, the issuer's well-known URL) in force.
    [{ url: 'https://a.test/jwks', timeout: 1 }, /^Invalid fastify-dapr-token-auth options: fromJwks: unknown option `timeout` \(did you mean `timeoutMs`\?\); the options are `url`, `issuers`, `timeoutMs`, `cooldownMs`, `maxAgeMs`, `retryMs`, `allowHttp`, `headers`$/],
    [{ url: 'https://a.test/jwks', cooldown: 1 }, /unknown option `cooldown` \(did you mean `cooldownMs`\?\)/],
    [{ url: 'http://idp.internal/jwks', allowHTTP: true }, /unknown option `allowHTTP` \(did you mean `allowHttp`\?\)/],
    [{ issuers: [{ issuer: 'https://a.test', jwks_uri: 'https://b.test/keys' }] }, /unknown option `issuers\[0\]\.jwks_uri` \(did you mean `issuers\[0\]\.jwksUri`\?\)/]
  ]
  bad.push([{ url: 'https://user:hunter2@a.test/jwks' }, /^Invalid fastify-dapr-token-auth options: fromJwks: a JWKS or issuer URL must not carry credentials \(not shown\): send them with `headers`$/])
  bad.push([{ issuers: ['https://:hunter2@a.test'] }, /must not carry credentials/])
  for (const [options, message] of bad) {
    t.throws(() => fromJwks(options as FromJwksOptions), DaprTokenOptionsError)
    try { fromJwks(options as FromJwksOptions) } catch (error) {
      t.notOk(/hunter2|not a url/.test((error as Error).message), `${JSON.stringify(options)}: the value given is not echoed`)
    }
    t.throws(() => fromJwks(options as FromJwksOptions), { message }, JSON.stringify(options))
  }
  t.doesNotThrow(() => fromJwks({ url: 'http://idp.internal/jwks', allowHttp: true }).close())
  t.doesNotThrow(() => fromJwks({ url: 'http://localhost:1/jwks' }).close())
  t.doesNotThrow(() => fromJwks({ issuers: ['https://a.test/'], headers: { authorization: 'x' } }).close())
})

// Regression: the https refusal echoed the URL (`url.href`), query string and all.
test('a URL refused for its scheme is not echoed: a secret in its path or query never shows in the error', async t => {
  const secret = 'S3cretApiKey0123456789'
  const https = 'Invalid fastify-dapr-token-auth options: fromJwks: a JWKS or issuer URL must be https (http only on the loopback interface, or with allowHttp)'
  const cases: FromJwksOptions[] = [
    { url: `http://idp.example/${secret}/jwks.json` },
    { url: `http://idp.example/jwks.json?api_key=${secret}` },
    { url: `abc:${secret}` },
    { url: `ftp://idp.example/jwks#${secret}` },
    { issuers: [`http://idp.example/${secret}`] },
    { issuers: [{ issuer: 'https://idp.example', jwksUri: `http://idp.example/keys?token=${secret}` }] }
  ]
  for (const options of cases) {
    let thrown: unknown
    try { fromJwks(options) } catch (error) { thrown = error }
    t.type(thrown, DaprTokenOptionsError, JSON.stringify(options))
    t.equal((thrown as Error).message, https, JSON.stringify(options))
    t.notOk(JSON.stringify({ message: (thrown as Error).message, stack: (thrown as Error).stack }).includes(secret), 'never the secret')
  }
})

test('a key rollover during a JWKS outage: the new kid is a 503 (not an unknown kid) at one fetch per cooldown; reachable but absent stays 401', async t => {
  const { jwks, call, logs } = await setup(t, { cooldownMs: 60_000, timeoutMs: 2000 })
  t.equal((await call(token())).statusCode, 200)
  t.equal(jwks.fetches, 1)
  const realNow = Date.now
  t.teardown(() => { Date.now = realNow })
  let offset = 61_000
  Date.now = () => realNow() + offset // past the cooldown
  jwks.mode = 'hang'
  const rolled = token(k2)
  // 200 at once (not 1,000): enough to share one hung fetch, light enough for a busy CI machine.
  const concurrent = await Promise.all(Array.from({ length: 200 }, async () => await call(rolled)))
  t.ok(concurrent.every(res => res.statusCode === 503 && res.body.code === UNAVAILABLE.code), 'every request waiting on the hung fetch gets a 503')
  t.same(concurrent[0]?.body, UNAVAILABLE)
  t.equal(jwks.fetches, 2, 'one fetch for all of them')
  for (let i = 0; i < 100; i++) {
    const res = await call(rolled)
    if (res.statusCode !== 503) t.fail(`request ${i}: ${res.statusCode}`)
  }
  t.equal(jwks.fetches, 2, 'within the cooldown after the failure: still 503, no new fetch')
  t.ok(logs.some(line => line.level === 50 && line.msg === 'Dapr API token key source failed'), 'logged at error')
  t.equal((await call(token(k1, { n: 3 }))).statusCode, 200, 'cached keys keep verifying')

  jwks.mode = 'ok'
  offset = 122_000
  const absent = await call(rolled)
  t.equal(absent.statusCode, 401, 'the endpoint answers and has no such kid')
  t.equal(absent.body.code, 'FST_DAPR_TOKEN_UNKNOWN_KID')
  t.equal(jwks.fetches, 3)
  for (let i = 0; i < 100; i++) {
    const res = await call(rolled)
    if (res.statusCode !== 401) t.fail(`request ${i}: ${res.statusCode}`)
  }
  t.equal(jwks.fetches, 3)
})
