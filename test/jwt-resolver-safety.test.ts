import { test, type Test } from 'tap'
import Fastify from 'fastify'
import { createHmac, generateKeyPairSync } from 'node:crypto'
import daprTokenAuth, { signDaprJwt, DaprTokenOptionsError, type DaprJwtOptions, type JwtKey, type JwtKeyResolver } from '../lib/index.js'
import { jwtVerifier } from '../lib/jwt/verify.js'
import { listen, send } from './helpers/http.js'
import { b64, ecKeyPair, HS_SECRET } from './helpers/jwt.js'

const tenantA = ecKeyPair('k1')
const tenantB = ecKeyPair('k1')

const UNAVAILABLE = {
  statusCode: 503,
  code: 'FST_DAPR_TOKEN_KEY_SOURCE_UNAVAILABLE',
  error: 'Service Unavailable',
  message: 'Dapr API token verification is temporarily unavailable'
}

async function server (t: Test, jwt: DaprJwtOptions): Promise<{ port: number, logs: Array<{ level: number, msg: string }> }> {
  const logs: Array<{ level: number, msg: string }> = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { logs.push(JSON.parse(line)) } } } })
  await app.register(daprTokenAuth, { jwt })
  app.get('/orders', async request => ({ daprToken: request.daprToken }))
  t.teardown(() => app.close())
  return { port: (await listen(app)).port, logs }
}

// ES256 signatures are short (checked as text by the shape check), RS256 ones long (decoded there): both paths re-verify a hit.
const rsaTenants = [generateKeyPairSync('rsa', { modulusLength: 2048 }), generateKeyPairSync('rsa', { modulusLength: 2048 })] as const
const tenantKeys = [['ES256', tenantA, tenantB], ['RS256', ...rsaTenants]] as const
for (const [mode, wrap] of [['sync', (key: JwtKey | undefined) => key], ['async', async (key: JwtKey | undefined) => await Promise.resolve(key)]] as const) {
  for (const [algorithm, ownKey, otherKey] of tenantKeys) {
    test(`a ${mode} resolver picking the key by host: a token cached for tenant A is refused on tenant B's host (${algorithm})`, async t => {
      const keys: Record<string, JwtKey> = { 'a.test': ownKey.publicKey, 'b.test': otherKey.publicKey }
      const { port } = await server(t, { key: request => wrap(keys[request.hostname]), algorithms: [algorithm] })
      const token = signDaprJwt({ sub: 'tenant-a-caller' }, { key: ownKey.privateKey, kid: 'k1' })
      for (let i = 0; i < 2; i++) {
        const ok = await send(port, 'GET', '/orders', { host: 'a.test', 'dapr-api-token': token })
        t.equal(ok.statusCode, 200, `tenant A, request ${i}`)
      }
      const cross = await send(port, 'GET', '/orders', { host: 'b.test', 'dapr-api-token': token })
      t.equal(cross.statusCode, 401)
      t.same(JSON.parse(cross.body), { statusCode: 401, code: 'FST_DAPR_TOKEN_BAD_SIGNATURE', error: 'Unauthorized', message: 'Invalid Dapr API token signature' })
      const nowhere = await send(port, 'GET', '/orders', { host: 'c.test', 'dapr-api-token': token })
      t.equal(nowhere.statusCode, 401)
      t.equal(JSON.parse(nowhere.body).code, 'FST_DAPR_TOKEN_UNKNOWN_KID', 'no key for this host, even with the token cached')
      const back = await send(port, 'GET', '/orders', { host: 'a.test', 'dapr-api-token': token })
      t.equal(back.statusCode, 200, 'tenant A still passes')
    })
  }
}

test('a cache hit counts only when the resolver names the same key: same value or equal key material', async t => {
  const request = {} as never
  let answer: JwtKey = HS_SECRET
  const verifier = jwtVerifier({ key: () => answer, algorithms: ['HS256'] }, 'dapr-api-token')
  const token = signDaprJwt({ n: 1 }, { key: HS_SECRET })
  const first = verifier.verify(token, request)
  t.match(first, { kind: 'jwt' })
  t.equal(verifier.verify(token, request), first, 'the same string: a hit')
  answer = Buffer.from(HS_SECRET)
  const fromBytes = verifier.verify(token, request)
  t.not(fromBytes, first, 'bytes after a string: verified again (and cached anew)')
  answer = Buffer.from(HS_SECRET)
  t.equal(verifier.verify(token, request), fromBytes, 'fresh bytes with the same content: a hit')
  answer = Buffer.from('another-secret-another-secret-another')
  t.equal(verifier.verify(token, request), 'signature', 'other bytes: verified in full, and refused')
  answer = HS_SECRET
  const again = verifier.verify(token, request)
  answer = { kty: 'oct', k: Buffer.from(HS_SECRET).toString('base64url') }
  const fromJwk = verifier.verify(token, request)
  t.not(fromJwk, again, 'a JWK after a string: verified again')
  answer = { kty: 'oct', k: Buffer.from(HS_SECRET).toString('base64url') }
  t.equal(verifier.verify(token, request), fromJwk, 'a fresh JWK with the same members: a hit')
  answer = { kty: 'oct', k: Buffer.from(HS_SECRET).toString('base64url'), kid: 'other' }
  t.equal(verifier.verify(token, request), fromJwk, 'a `kid` is no key material: still a hit')
  answer = { kty: 'oct', k: Buffer.from(HS_SECRET).toString('base64url'), alg: 'HS256' }
  t.not(verifier.verify(token, request), fromJwk, 'a key member more (`alg`): verified again')
  answer = { kty: 'oct' }
  t.equal(verifier.verify(token, request), 'unusableKey', 'a JWK with a member less: verified in full, and refused')
  answer = Object.assign(Object.create({ inherited: 'not a member' }) as object, { kty: 'oct', k: Buffer.from(HS_SECRET).toString('base64url') })
  const withProto = verifier.verify(token, request)
  t.match(withProto, { kind: 'jwt' })
  t.equal(verifier.verify(token, request), withProto, 'inherited properties are no members: the same JWK, a hit')

  const objects = jwtVerifier({ key: () => answer, algorithms: ['ES256'] }, 'dapr-api-token')
  const es = signDaprJwt({}, { key: tenantA.privateKey })
  answer = tenantA.publicPem
  const pem = objects.verify(es, request)
  answer = tenantA.publicKey
  t.not(objects.verify(es, request), pem, 'a KeyObject after a string: verified again')
})

// Regression: keys were remembered by object identity, so a resolver rotating a Buffer or a JWK in
// place kept verifying with the old key for the life of the process, cached or not.
for (const cache of [true, false]) {
  for (const [form, initial, rotate] of [
    ['a Buffer changed with buffer.set()', () => Buffer.from(HS_SECRET), (key: JwtKey, next: string) => { (key as Buffer).set(Buffer.from(next)) }],
    ['a JWK changed with Object.assign()', () => ({ kty: 'oct', k: Buffer.from(HS_SECRET).toString('base64url') }), (key: JwtKey, next: string) => { Object.assign(key, { k: Buffer.from(next).toString('base64url') }) }]
  ] as const) {
    test(`a key rotated in place (${form}, cache ${cache ? 'on' : 'off'}): the old key's tokens are refused, the new key's accepted`, async t => {
      const key = initial()
      const { port } = await server(t, { key: () => key, algorithms: ['HS256'], cache })
      const next = HS_SECRET.replace('test', 'next')
      const seen = signDaprJwt({ n: 1 }, { key: HS_SECRET })
      const unseen = signDaprJwt({ n: 2 }, { key: HS_SECRET })
      const fresh = signDaprJwt({ n: 3 }, { key: next })
      t.equal((await send(port, 'GET', '/orders', { 'dapr-api-token': seen })).statusCode, 200, 'before the rotation')
      t.equal((await send(port, 'GET', '/orders', { 'dapr-api-token': fresh })).statusCode, 401, 'the next key is not valid yet')
      rotate(key, next)
      for (const [name, token] of [['a token seen before', seen], ['a token never seen', unseen]] as const) {
        const res = await send(port, 'GET', '/orders', { 'dapr-api-token': token })
        t.equal(res.statusCode, 401, name)
        t.same(JSON.parse(res.body), { statusCode: 401, code: 'FST_DAPR_TOKEN_BAD_SIGNATURE', error: 'Unauthorized', message: 'Invalid Dapr API token signature' }, name)
      }
      const ok = await send(port, 'GET', '/orders', { 'dapr-api-token': fresh })
      t.equal(ok.statusCode, 200)
      t.same(JSON.parse(ok.body), { daprToken: { kind: 'jwt', claims: JSON.parse(Buffer.from(fresh.split('.')[1] as string, 'base64url').toString()) } })
    })
  }
}

// Regression: JWKs were compared by their own enumerable members, so two keys held as class
// instances (members as prototype getters) looked alike: a token cached for tenant A passed on B.
class SecretEntry {
  readonly #secret: string
  constructor (secret: string) { this.#secret = secret }
  get kty (): string { return 'oct' }
  get k (): string { return Buffer.from(this.#secret).toString('base64url') }
}

test('keys held as class instances (members as getters): a token cached for tenant A is refused on tenant B', async t => {
  const keys: Record<string, SecretEntry> = { 'a.test': new SecretEntry(HS_SECRET), 'b.test': new SecretEntry(HS_SECRET.replace('test', 'tenb')) }
  const { port } = await server(t, { key: request => keys[request.hostname] as unknown as JwtKey, algorithms: ['HS256'] })
  const token = signDaprJwt({ sub: 'tenant-a-caller' }, { key: HS_SECRET })
  t.equal((await send(port, 'GET', '/orders', { host: 'a.test', 'dapr-api-token': token })).statusCode, 200)
  const cross = await send(port, 'GET', '/orders', { host: 'b.test', 'dapr-api-token': token })
  t.equal(cross.statusCode, 401)
  t.same(JSON.parse(cross.body), { statusCode: 401, code: 'FST_DAPR_TOKEN_BAD_SIGNATURE', error: 'Unauthorized', message: 'Invalid Dapr API token signature' })
  const empty = await send(port, 'GET', '/orders', { host: 'c.test', 'dapr-api-token': token })
  t.equal(JSON.parse(empty.body).code, 'FST_DAPR_TOKEN_UNKNOWN_KID')
})

for (const cache of [true, false]) {
  test(`a JWK member that is not enumerable or inherited, rotated in place (cache ${cache ? 'on' : 'off'}): the new key verifies, the old one no longer`, async t => {
    const b64k = (secret: string): string => Buffer.from(secret).toString('base64url')
    const next = HS_SECRET.replace('test', 'next')
    const hidden = { kty: 'oct' }
    Object.defineProperty(hidden, 'k', { value: b64k(HS_SECRET), writable: true, enumerable: false })
    const proto = { kty: 'oct', k: b64k(HS_SECRET) }
    const inherited = Object.create(proto) as object
    for (const [name, key, rotate] of [
      ['not enumerable', hidden, () => { (hidden as unknown as { k: string }).k = b64k(next) }],
      ['inherited', inherited, () => { proto.k = b64k(next) }]
    ] as const) {
      const { port } = await server(t, { key: () => key as JwtKey, algorithms: ['HS256'], cache })
      const old = signDaprJwt({ n: 1 }, { key: HS_SECRET })
      t.equal((await send(port, 'GET', '/orders', { 'dapr-api-token': old })).statusCode, 200, `${name}: before`)
      rotate()
      t.equal(JSON.parse((await send(port, 'GET', '/orders', { 'dapr-api-token': old })).body).code, 'FST_DAPR_TOKEN_BAD_SIGNATURE', `${name}: the old key's token`)
      t.equal((await send(port, 'GET', '/orders', { 'dapr-api-token': signDaprJwt({ n: 2 }, { key: next }) })).statusCode, 200, `${name}: the new key's token`)
    }
  })
}

test('a key whose getter answers differently from one read to the next: what verifies is what is compared', async t => {
  let current = HS_SECRET
  const shifty = { kty: 'oct', get k () { return Buffer.from(current).toString('base64url') } }
  const { port } = await server(t, { key: () => shifty as unknown as JwtKey, algorithms: ['HS256'] })
  const a = signDaprJwt({ n: 1 }, { key: HS_SECRET })
  t.equal((await send(port, 'GET', '/orders', { 'dapr-api-token': a })).statusCode, 200)
  current = HS_SECRET.replace('test', 'next')
  t.equal(JSON.parse((await send(port, 'GET', '/orders', { 'dapr-api-token': a })).body).code, 'FST_DAPR_TOKEN_BAD_SIGNATURE', 'cached, but the key now reads otherwise')
})

test('a resolver answering with a key whose member throws when read gets a 401 unusable key, never a 500, cached or not', async t => {
  let explode = false
  const key = { kty: 'oct', get k () { if (explode) throw new Error('boom'); return Buffer.from(HS_SECRET).toString('base64url') } }
  for (const answer of [Object.defineProperty({}, 'kty', { get () { throw new Error('boom') } }), key]) {
    explode = false
    const { port } = await server(t, { key: () => answer as unknown as JwtKey, algorithms: ['HS256'] })
    const token = signDaprJwt({ n: Math.random() }, { key: HS_SECRET })
    if (answer === key) t.equal((await send(port, 'GET', '/orders', { 'dapr-api-token': token })).statusCode, 200, 'cached while readable')
    explode = true
    const res = await send(port, 'GET', '/orders', { 'dapr-api-token': token })
    t.equal(res.statusCode, 401)
    t.same(JSON.parse(res.body), { statusCode: 401, code: 'FST_DAPR_TOKEN_UNUSABLE_KEY', error: 'Unauthorized', message: 'No usable key for the Dapr API token' })
  }
})

test('a resolver answering with a Proxy (over a Buffer or a JWK) gets a 401 unusable key, never a 500 or a pass', async t => {
  for (const proxy of [new Proxy(Buffer.from(HS_SECRET), {}), new Proxy({ kty: 'oct', k: Buffer.from(HS_SECRET).toString('base64url') }, {})]) {
    const { port } = await server(t, { key: () => proxy as unknown as JwtKey, algorithms: ['HS256'] })
    for (let i = 0; i < 2; i++) {
      const res = await send(port, 'GET', '/orders', { 'dapr-api-token': signDaprJwt({}, { key: HS_SECRET }) })
      t.equal(res.statusCode, 401)
      t.equal(JSON.parse(res.body).code, 'FST_DAPR_TOKEN_UNUSABLE_KEY')
    }
  }
})

for (const value of [false, 0, 42, true, Symbol('no')]) {
  test(`a resolver returning ${String(value)} is a 401 unknown kid, not a 500`, async t => {
    const { port } = await server(t, { key: () => value as never, algorithms: ['HS256'] })
    const res = await send(port, 'GET', '/orders', { 'dapr-api-token': signDaprJwt({}, { key: HS_SECRET }) })
    t.equal(res.statusCode, 401)
    t.same(JSON.parse(res.body), { statusCode: 401, code: 'FST_DAPR_TOKEN_UNKNOWN_KID', error: 'Unauthorized', message: 'Unknown Dapr API token key' })
  })
}

test('a resolver whose promise never settles: 503 after resolverTimeoutMs, logged at error', async t => {
  const { port, logs } = await server(t, { key: async () => await new Promise<JwtKey>(() => {}), algorithms: ['HS256'], resolverTimeoutMs: 50 })
  const token = signDaprJwt({}, { key: HS_SECRET })
  const res = await send(port, 'GET', '/orders', { 'dapr-api-token': token })
  t.equal(res.statusCode, 503)
  t.same(JSON.parse(res.body), UNAVAILABLE)
  t.ok(logs.some(line => line.level === 50 && line.msg === 'Dapr API token key source failed'), 'logged at error')
  t.notOk(JSON.stringify(logs).includes(token), 'no token in the logs')
})

test('a resolver that hangs on a cache hit is bounded too', async t => {
  let hang = false
  const { port } = await server(t, {
    key: async () => await (hang ? new Promise<JwtKey>(() => {}) : Promise.resolve(HS_SECRET)),
    algorithms: ['HS256'],
    resolverTimeoutMs: 50
  })
  const token = signDaprJwt({}, { key: HS_SECRET })
  t.equal((await send(port, 'GET', '/orders', { 'dapr-api-token': token })).statusCode, 200)
  hang = true
  const res = await send(port, 'GET', '/orders', { 'dapr-api-token': token })
  t.equal(res.statusCode, 503)
  t.same(JSON.parse(res.body), UNAVAILABLE)
})

test('the resolver timeout keeps no timer alive: unref while pending, cleared on settle', async t => {
  const timers = (): number => process.getActiveResourcesInfo().filter(name => name === 'Timeout').length
  let settle: (key: JwtKey) => void = () => {}
  let fail: (error: Error) => void = () => {}
  const verifier = jwtVerifier({ key: async (_r, d) => await new Promise<JwtKey>((resolve, reject) => { if (d.header.kid === 'bad') fail = reject; else settle = resolve }), algorithms: ['HS256'], resolverTimeoutMs: 60_000 }, 'dapr-api-token')
  const before = timers()
  const pending = verifier.verify(signDaprJwt({}, { key: HS_SECRET }), {} as never)
  const failing = verifier.verify(signDaprJwt({}, { key: HS_SECRET, kid: 'bad' }), {} as never)
  t.equal(timers(), before, 'the pending timeouts do not hold the event loop')
  settle(HS_SECRET)
  t.match(await pending, { kind: 'jwt' })
  const broken = new Error('key store down')
  fail(broken)
  await t.rejects(Promise.resolve(failing), broken, 'a rejection is passed on as the key source failing')
})

test('jwt.resolverTimeoutMs is checked at registration', async t => {
  for (const value of [0, -1, 1.5, '100', Number.NaN, 2 ** 31]) {
    t.throws(() => jwtVerifier({ key: () => HS_SECRET, algorithms: ['HS256'], resolverTimeoutMs: value as number }, 'dapr-api-token'), {
      code: 'FST_DAPR_TOKEN_OPTIONS',
      message: '`jwt.resolverTimeoutMs` must be a whole number of milliseconds from 1 to 2147483647'
    }, String(value))
  }
})

test('claims nested 20,000 deep are accepted and frozen, never a stack overflow', async t => {
  const depth = 20_000
  const payload = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`
  const token = `${input}.${createHmac('sha256', HS_SECRET).update(input).digest('base64url')}`
  const verifier = jwtVerifier({ key: HS_SECRET, algorithms: ['HS256'] }, 'dapr-api-token')
  const outcome = verifier.verify(token, {} as never) as { kind: string, claims: Record<string, unknown> }
  t.equal(outcome.kind, 'jwt')
  let inner: unknown = outcome.claims
  let levels = 0
  while (inner !== null && typeof inner === 'object') {
    if (!Object.isFrozen(inner)) t.fail(`level ${levels} not frozen`)
    inner = (inner as { a: unknown }).a
    levels++
  }
  t.equal(levels, depth)
  t.equal(inner, 1)
})

test('a static key keeps the plain cache: a hit is the cached credential itself', async t => {
  const verifier = jwtVerifier({ key: HS_SECRET, algorithms: ['HS256'] }, 'dapr-api-token')
  const token = signDaprJwt({ n: 1 }, { key: HS_SECRET })
  const first = verifier.verify(token, {} as never)
  t.match(first, { kind: 'jwt', claims: { n: 1 } })
  t.equal(verifier.verify(token, {} as never), first)
})

test('a long signature is kept while an async resolver waits: a token checked meanwhile cannot change it', async t => {
  // RS256 signatures are long: the shape check decodes them into a buffer the next token reuses.
  const { publicKey, privateKey } = rsaTenants[0]
  let release: (() => void) | undefined
  let firstAsked: (() => void) | undefined
  const asked = new Promise<void>(resolve => { firstAsked = resolve })
  let calls = 0
  const { port } = await server(t, {
    key: async () => {
      calls++
      if (calls === 1) {
        (firstAsked as () => void)()
        await new Promise<void>(resolve => { release = resolve })
      }
      return publicKey
    },
    algorithms: ['RS256'],
    cache: false
  })
  const first = signDaprJwt({ sub: 'first' }, { key: privateKey })
  const second = signDaprJwt({ sub: 'second' }, { key: privateKey })
  const pending = send(port, 'GET', '/orders', { 'dapr-api-token': first })
  await asked
  const meanwhile = await send(port, 'GET', '/orders', { 'dapr-api-token': second })
  const claimsOf = (token: string): unknown => JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString())
  t.equal(meanwhile.statusCode, 200)
  t.same(JSON.parse(meanwhile.body), { daprToken: { kind: 'jwt', claims: claimsOf(second) } });
  (release as () => void)()
  const waited = await pending
  t.equal(waited.statusCode, 200, 'the first token verified with its own signature')
  t.same(JSON.parse(waited.body), { daprToken: { kind: 'jwt', claims: claimsOf(first) } })
})

test('a resolver\'s issuers are copied at registration: its own includes never runs, and a token checked from inside it cannot swap signatures', async t => {
  const { publicKey, privateKey } = rsaTenants[0]
  const valid = signDaprJwt({ sub: 'admin' }, { key: privateKey, issuer: 'a' })
  const other = signDaprJwt({ sub: 'other' }, { key: privateKey, issuer: 'a' })
  const [header, payload, signature] = valid.split('.') as [string, string, string]
  // A wrong signature of the right length: one character in the middle changed.
  const forged = `${header}.${payload}.${signature.slice(0, 100)}${signature[100] === 'A' ? 'B' : 'A'}${signature.slice(101)}`
  let inner: string | undefined
  let ownIncludesCalls = 0
  const app = Fastify()
  // An issuers list with an `includes` of its own that verifies another token first (RSA: its
  // signature lands in the same kept buffer as the outer token's).
  class Issuers extends Array<string> {
    override includes (issuer: string): boolean {
      ownIncludesCalls++
      if (inner !== undefined) {
        const token = inner
        inner = undefined
        const raw = { headers: { 'dapr-api-token': token }, rawHeaders: ['dapr-api-token', token] }
        app.verifyDaprToken({ headers: raw.headers, raw, daprToken: null, log: app.log } as never, {} as never, () => {})
      }
      return super.includes(issuer)
    }
  }
  const issuers = Issuers.from(['a'])
  const key: JwtKeyResolver = Object.assign(() => publicKey, { issuers })
  await app.register(daprTokenAuth, { jwt: { key, algorithms: ['RS256'], cache: false } })
  app.get('/', async request => request.daprToken)
  t.teardown(() => app.close())
  const { port } = await listen(app)
  const claimsOf = (token: string): unknown => JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString())

  inner = valid
  const refused = await send(port, 'GET', '/', { 'dapr-api-token': forged })
  t.equal(refused.statusCode, 401, 'a forged signature stays forged')
  t.equal(JSON.parse(refused.body).code, 'FST_DAPR_TOKEN_BAD_SIGNATURE')
  inner = other
  const accepted = await send(port, 'GET', '/', { 'dapr-api-token': valid })
  t.equal(accepted.statusCode, 200, 'a valid token keeps its own signature')
  t.same(JSON.parse(accepted.body), { kind: 'jwt', claims: claimsOf(valid) })
  t.equal(ownIncludesCalls, 0, 'the copy is a plain array: the caller\'s includes is never called')

  issuers.push('b')
  const late = await send(port, 'GET', '/', { 'dapr-api-token': signDaprJwt({ sub: 'x' }, { key: privateKey, issuer: 'b' }) })
  t.equal(late.statusCode, 401, 'an issuer added after registration is not one')
  t.equal(JSON.parse(late.body).code, 'FST_DAPR_TOKEN_CLAIM_MISMATCH')
})

test('a resolver\'s issuers must be a non-empty array of issuer strings, checked at registration', async t => {
  for (const issuers of ['https://issuer.test', [], [''], [1], {}]) {
    const app = Fastify()
    const key = Object.assign(() => undefined, { issuers }) as unknown as JwtKeyResolver
    await t.rejects(async () => await app.register(daprTokenAuth, { jwt: { key, algorithms: ['RS256'] } }).ready(), new DaprTokenOptionsError('`jwt.key`: the resolver\'s `issuers` must be a non-empty array of issuer strings'), JSON.stringify(issuers))
    await app.close()
  }
})

test('issuer, audience and subject lists are copied at registration: a later change to the caller\'s array is not seen', async t => {
  const issuer = ['a']
  const audience = ['x']
  const subject = ['s']
  const { port } = await server(t, { key: HS_SECRET, algorithms: ['HS256'], issuer, audience, subject })
  issuer.push('b')
  audience.push('y')
  subject.push('t')
  for (const [claims, name] of [[{ iss: 'b', aud: 'x', sub: 's' }, 'issuer'], [{ iss: 'a', aud: 'y', sub: 's' }, 'audience'], [{ iss: 'a', aud: 'x', sub: 't' }, 'subject']] as const) {
    const response = await send(port, 'GET', '/orders', { 'dapr-api-token': signDaprJwt(claims, { key: HS_SECRET }) })
    t.equal(response.statusCode, 401, name)
    t.equal(JSON.parse(response.body).code, 'FST_DAPR_TOKEN_CLAIM_MISMATCH', name)
  }
  const ok = await send(port, 'GET', '/orders', { 'dapr-api-token': signDaprJwt({ iss: 'a', aud: 'x', sub: 's' }, { key: HS_SECRET }) })
  t.equal(ok.statusCode, 200)
})
