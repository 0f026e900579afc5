import { test, type Test } from 'tap'
import Fastify from 'fastify'
import { createSecretKey, generateKeyPairSync } from 'node:crypto'
import daprTokenAuth, { signDaprJwt, DaprTokenOptionsError, type DaprTokenAuthOptions, type DaprJwtOptions } from '../lib/index.js'
import { resolveOptions } from '../lib/options.js'
import { listen, send } from './helpers/http.js'
import { b64, ecKeyPair, forgeHmac, HS_SECRET, nowSeconds } from './helpers/jwt.js'

async function appWith (t: Test, jwt: DaprJwtOptions, extra: Partial<DaprTokenAuthOptions> = {}) {
  const app = Fastify()
  await app.register(daprTokenAuth, { jwt, ...extra })
  app.get('/', async request => request.daprToken)
  t.teardown(() => app.close())
  return async (token: string): Promise<[number, string | undefined]> => {
    const res = await app.inject({ url: '/', headers: { 'dapr-api-token': token } })
    return [res.statusCode, JSON.parse(res.body).code]
  }
}

// Regression: text that read as no public key became an HMAC secret with HS256 derived, so a public
// key in a form not read here let anyone sign HS256 tokens with it. A secret given as text or bytes
// now needs an HMAC pin; a KeyObject or an oct JWK says what it is.
test('a secret given as text or bytes needs algorithms pinned to HMAC; a secret KeyObject or oct JWK does not', async t => {
  for (const jwt of [{ key: HS_SECRET }, { key: Buffer.from(HS_SECRET) }, { key: HS_SECRET, algorithms: ['RS256'] }]) {
    t.throws(() => resolveOptions({ jwt: jwt as DaprJwtOptions }), {
      code: 'FST_DAPR_TOKEN_OPTIONS',
      message: /`jwt.key` reads as no public key \(PEM, SPKI, PKCS#1 or certificate DER as bytes, base64 or hex, or a JWK\), so it would be an HMAC secret: say so with `algorithms: \['HS256'\]`/
    })
  }
  t.ok(resolveOptions({ jwt: { key: createSecretKey(Buffer.from(HS_SECRET)) } }).verifier, 'a secret KeyObject')
  t.ok(resolveOptions({ jwt: { key: { kty: 'oct', k: Buffer.from(HS_SECRET).toString('base64url') } } }).verifier, 'an oct JWK')
})

test('HMAC secret pinned to HS256: HS384/HS512 with the same secret are refused', async t => {
  const call = await appWith(t, { key: HS_SECRET, algorithms: ['HS256'] })
  t.same(await call(signDaprJwt({}, { key: HS_SECRET })), [200, undefined])
  t.same(await call(signDaprJwt({}, { key: HS_SECRET, algorithm: 'HS512' })), [401, 'FST_DAPR_TOKEN_ALGORITHM'])
  t.same(await call(signDaprJwt({}, { key: 'another-secret-another-secret-another' })), [401, 'FST_DAPR_TOKEN_BAD_SIGNATURE'])
  t.same(await call(forgeHmac({ alg: 'none' }, { exp: nowSeconds() + 60 }, HS_SECRET, 'sha256')), [401, 'FST_DAPR_TOKEN_UNSIGNED'], 'alg none with a signature part')
  t.same(await call(`${b64({ alg: 'none' })}.${b64({})}.`), [401, 'FST_DAPR_TOKEN_UNSIGNED'])
  t.same(await call(`${b64({ alg: 'HS256' })}.${b64([1])}.${b64('x')}`), [401, 'FST_DAPR_TOKEN_MALFORMED'], 'payload not an object')
  t.same(await call(forgeHmac({ alg: 'HS256', crit: ['x'], x: 1 }, {}, HS_SECRET)), [401, 'FST_DAPR_TOKEN_MALFORMED'], 'unknown crit header')
  t.same(await call(`${b64({ alg: 'HS256' })}.${b64({ exp: '9999999999' })}.${b64('x')}`), [401, 'FST_DAPR_TOKEN_BAD_SIGNATURE'])
  t.same(await call(forgeHmac({ alg: 'HS256' }, { exp: '9999999999' }, HS_SECRET)), [401, 'FST_DAPR_TOKEN_CLAIM_MISMATCH'], 'exp of the wrong type')
})

test('HMAC family pinned explicitly; secret given as bytes, a KeyObject or an oct JWK', async t => {
  const viaBytes = await appWith(t, { key: Buffer.from(HS_SECRET), algorithms: ['HS256', 'HS512'] })
  t.same(await viaBytes(signDaprJwt({}, { key: HS_SECRET, algorithm: 'HS512' })), [200, undefined])
  t.same(await viaBytes(signDaprJwt({}, { key: HS_SECRET, algorithm: 'HS384' })), [401, 'FST_DAPR_TOKEN_ALGORITHM'])
  const viaKeyObject = await appWith(t, { key: createSecretKey(Buffer.from(HS_SECRET)) })
  t.same(await viaKeyObject(signDaprJwt({}, { key: HS_SECRET })), [200, undefined])
  const viaJwk = await appWith(t, { key: { kty: 'oct', k: Buffer.from(HS_SECRET).toString('base64url'), alg: 'HS256' } })
  t.same(await viaJwk(signDaprJwt({}, { key: { kty: 'oct', k: Buffer.from(HS_SECRET).toString('base64url') } })), [200, undefined])
})

test('public keys of each type: the algorithm follows the key; a JWK string, bytes and certificates-free PEM work', async t => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const ed = generateKeyPairSync('ed25519')
  const es384 = ecKeyPair('x', 'P-384')
  const rsaCall = await appWith(t, { key: rsa.publicKey.export({ type: 'spki', format: 'pem' }) })
  t.same(await rsaCall(signDaprJwt({}, { key: rsa.privateKey })), [200, undefined])
  t.same(await rsaCall(signDaprJwt({}, { key: rsa.privateKey, algorithm: 'PS256' })), [401, 'FST_DAPR_TOKEN_ALGORITHM'], 'RS256 only unless PS256 is listed')
  const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string
  for (const secret of [rsaPem, rsaPem.trim(), Buffer.from(rsaPem)]) {
    t.same(await rsaCall(forgeHmac({ alg: 'HS256', typ: 'JWT' }, { exp: nowSeconds() + 60 }, secret)), [401, 'FST_DAPR_TOKEN_ALGORITHM'], 'HS256 signed with the RSA public key as secret')
  }
  const psCall = await appWith(t, { key: Buffer.from(rsa.publicKey.export({ type: 'pkcs1', format: 'pem' })), algorithms: ['RS256', 'PS256'] })
  t.same(await psCall(signDaprJwt({}, { key: rsa.privateKey, algorithm: 'PS256' })), [200, undefined])
  const edCall = await appWith(t, { key: JSON.stringify(ed.publicKey.export({ format: 'jwk' })) })
  t.same(await edCall(signDaprJwt({}, { key: ed.privateKey.export({ format: 'jwk' }) })), [200, undefined])
  const esCall = await appWith(t, { key: es384.publicKey })
  t.same(await esCall(signDaprJwt({}, { key: es384.privateKey.export({ type: 'pkcs8', format: 'pem' }) })), [200, undefined])
  t.same(await esCall(forgeHmac({ alg: 'HS256' }, {}, es384.publicPem)), [401, 'FST_DAPR_TOKEN_ALGORITHM'])
})

test('the jwt option is checked at registration: every mistake is FST_DAPR_TOKEN_OPTIONS with what to change', async t => {
  const es = ecKeyPair('k')
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' })
  const bad: Array<[unknown, RegExp]> = [
    [null, /`jwt` must be an object/],
    [{}, /`jwt.key` is required/],
    [{ key: '' }, /the key is empty/],
    [{ key: '   ' }, /the key is empty/],
    [{ key: 42 }, /a key must be a string/],
    [{ key: { kty: 'oct', k: '' } }, /the key is empty/],
    [{ key: { kty: 'oct' } }, /the key is empty/],
    [{ key: 'short-secret' }, /the HMAC secret is too short: an HMAC secret must be at least as long as the hash: 32 bytes for HS256/],
    [{ key: Buffer.alloc(31, 1) }, /the HMAC secret is too short/],
    [{ key: { kty: 'oct', k: Buffer.alloc(16, 1).toString('base64url') } }, /the HMAC secret is too short/],
    [{ key: 'x'.repeat(40), algorithms: ['HS512'] }, /HS512 cannot be verified with this HMAC secret \(it fits HS256\); an HMAC secret must be at least as long as the hash/],
    [{ key: '{"a":1}' }, /the key is JSON but not a JWK/],
    // Regression: misspelt names inside `jwt` were ignored, and the check they name was skipped.
    [{ key: HS_SECRET, audiance: 'orders-app' }, /^Invalid fastify-dapr-token-auth options: unknown option `jwt.audiance` \(did you mean `jwt.audience`\?\); the options are `jwt.key`, `jwt.algorithms`, /],
    [{ key: HS_SECRET, algorithms: ['HS256'], issuers: 'https://issuer.test' }, /unknown option `jwt.issuers` \(did you mean `jwt.issuer`\?\)/],
    [{ key: HS_SECRET, algorithms: ['HS256'], requiredClaim: ['tenant'] }, /unknown option `jwt.requiredClaim` \(did you mean `jwt.requiredClaims`\?\)/],
    [{ key: HS_SECRET, algorithms: ['HS256'], maxage: 10 }, /unknown option `jwt.maxage` \(did you mean `jwt.maxAge`\?\)/],
    [{ key: HS_SECRET, algorithm: ['HS512'] }, /unknown option `jwt.algorithm` \(did you mean `jwt.algorithms`\?\)/],
    [{ key: HS_SECRET, algorithms: ['HS256'], subjects: 'caller-1' }, /unknown option `jwt.subjects` \(did you mean `jwt.subject`\?\)/],
    [{ key: HS_SECRET, algorithms: ['HS256'], cache: { maxSize: 1 } }, /unknown option `jwt.cache.maxSize`; the options are `jwt.cache.max`, `jwt.cache.ttl`/],
    [{ key: HS_SECRET, algorithms: ['HS256'], cache: { max: 1, TTL: 5 } }, /unknown option `jwt.cache.TTL` \(did you mean `jwt.cache.ttl`\?\)/],
    [{ key: '["not", "a", "key", "nor", "a", "secret"]' }, /the key is JSON but not a JWK/],
    [{ key: JSON.stringify({ keys: [es.jwk] }) }, /a JWKS document .* pass one of its keys, or use fromJwks/],
    [{ key: { ...es.jwk, d: 'x' } }, /private JWK/],
    [{ key: { ...es.jwk, use: 'enc' } }, /not a signature key/],
    [{ key: { ...es.jwk, alg: 'ES384' } }, /cannot be verified with this public key/],
    [{ key: { ...es.jwk, alg: {} } }, /the JWK's `alg` must be a string/],
    [{ key: { kty: 'RSA', n: '!!', e: 'AQAB' } }, /shorter than 2048 bits/],
    [{ key: { kty: 'RSA', n: 'AQAB', e: 1 } }, /cannot be parsed/],
    [{ key: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----' }, /the key looks like PEM but cannot be read as a public key or certificate/],
    [{ key: '{not json, a secret that starts with a brace}' }, /reads as no public key/],
    [{ key: '{"kty": "RSA", "n": "trailing comma",}' }, /the key looks like a JWK but does not parse as JSON/],
    [{ key: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) }, /private key/],
    [{ key: rsa.privateKey }, /private key/],
    [{ key: secp256k1.publicKey }, /not supported/],
    [{ key: generateKeyPairSync('x25519').publicKey }, /not supported/],
    [{ key: generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey }, /not supported/],
    [{ key: HS_SECRET, algorithms: ['HS256'], issuer: 42 }, /`jwt.issuer`/],
    [{ key: es.publicPem, algorithms: ['HS256'] }, /HS256 cannot be verified with this public key \(it fits ES256\)/],
    [{ key: HS_SECRET, algorithms: ['RS256'] }, /reads as no public key .* say so with `algorithms: \['HS256'\]`/],
    [{ key: HS_SECRET, algorithms: ['none'] }, /must not include 'none'/],
    [{ key: HS_SECRET, algorithms: ['NONE'] }, /must not include 'none'/],
    [{ key: HS_SECRET, algorithms: ['HS256', 'RS256'] }, /must not mix HMAC/],
    [{ key: HS_SECRET, algorithms: ['XS256'] }, /unsupported algorithm "XS256"/],
    [{ key: HS_SECRET, algorithms: [] }, /non-empty array/],
    [{ key: HS_SECRET, algorithms: 'HS256' }, /non-empty array/],
    [{ key: () => undefined }, /required with a key resolver/],
    [{ key: HS_SECRET, algorithms: ['HS256'], issuer: '' }, /`jwt.issuer` must be a non-empty string/],
    [{ key: HS_SECRET, algorithms: ['HS256'], audience: [] }, /`jwt.audience`/],
    [{ key: HS_SECRET, algorithms: ['HS256'], subject: [1] }, /`jwt.subject`/],
    [{ key: HS_SECRET, algorithms: ['HS256'], clockTolerance: -1 }, /`jwt.clockTolerance` must be a non-negative number of seconds/],
    [{ key: HS_SECRET, algorithms: ['HS256'], maxAge: 0 }, /`jwt.maxAge` must be a positive number/],
    [{ key: HS_SECRET, algorithms: ['HS256'], maxAge: Infinity }, /`jwt.maxAge`/],
    [{ key: HS_SECRET, algorithms: ['HS256'], requiredClaims: 'exp' }, /`jwt.requiredClaims`/],
    [{ key: HS_SECRET, algorithms: ['HS256'], requiredClaims: [''] }, /`jwt.requiredClaims`/],
    [{ key: HS_SECRET, algorithms: ['HS256'], cache: 'yes' }, /`jwt.cache` must be/],
    [{ key: HS_SECRET, algorithms: ['HS256'], cache: { max: 0 } }, /`jwt.cache.max`/],
    [{ key: HS_SECRET, algorithms: ['HS256'], cache: { ttl: 0 } }, /`jwt.cache.ttl`/]
  ]
  for (const [jwt, message] of bad) {
    t.throws(() => resolveOptions({ jwt: jwt as DaprJwtOptions }), DaprTokenOptionsError, String(message))
    t.throws(() => resolveOptions({ jwt: jwt as DaprJwtOptions }), { message }, String(message))
  }
  t.throws(() => resolveOptions({ jwt: { key: HS_SECRET, algorithms: ['HS256'] }, token: 'x' }), { message: /either `jwt` or `token`\/`keyResolver`/ })
  t.throws(() => resolveOptions({ jwt: { key: HS_SECRET, algorithms: ['HS256'] }, keyResolver: () => 'x' }), { message: /either `jwt` or `token`\/`keyResolver`/ })

  const app = Fastify()
  app.register(daprTokenAuth, { jwt: { key: HS_SECRET, algorithms: ['none' as never] } })
  await t.rejects(async () => { await app.ready() }, { code: 'FST_DAPR_TOKEN_OPTIONS' })
  t.ok(resolveOptions({ jwt: { key: HS_SECRET, algorithms: ['HS256'], cache: true } }).verifier)
  t.ok(resolveOptions({ jwt: { key: HS_SECRET, algorithms: ['HS256'], cache: {} } }).verifier)
})

test('the jwt mode ignores the env var: a missing key fails closed rather than falling back', async t => {
  t.throws(() => resolveOptions({ jwt: { key: undefined as never } }, { APP_API_TOKEN: 'x' }), { code: 'FST_DAPR_TOKEN_OPTIONS' })
})

// Regression: the CLI trimmed a secret read from a file (which ends in a newline), the plugin used
// it as given, so a token the CLI signed and `verify` called valid was a 401 on the server.
test('an HMAC secret given as text is trimmed on both sides, as tokens are; bytes are used as they are', async t => {
  const app = Fastify()
  await app.register(async scope => {
    await scope.register(daprTokenAuth, { jwt: { key: `${HS_SECRET}\n`, algorithms: ['HS256'] } })
    scope.get('/text', async request => request.daprToken)
  })
  await app.register(async scope => {
    await scope.register(daprTokenAuth, { jwt: { key: () => ` ${HS_SECRET}\r\n`, algorithms: ['HS256'] } })
    scope.get('/resolver', async request => request.daprToken)
  })
  await app.register(async scope => {
    await scope.register(daprTokenAuth, { jwt: { key: Buffer.from(`${HS_SECRET}\n`), algorithms: ['HS256'] } })
    scope.get('/bytes', async request => request.daprToken)
  })
  t.teardown(() => app.close())
  const { port } = await listen(app)
  const trimmed = signDaprJwt({ sub: 'a' }, { key: HS_SECRET })
  const withNewline = signDaprJwt({ sub: 'a' }, { key: `${HS_SECRET}\n` })
  const overBytes = signDaprJwt({ sub: 'a' }, { key: Buffer.from(`${HS_SECRET}\n`) })
  t.equal(withNewline, trimmed, 'signDaprJwt trims a text secret too')
  t.not(overBytes, trimmed, 'and signs with bytes as they are')
  const status = async (path: string, token: string): Promise<[number, string | undefined]> => {
    const response = await send(port, 'GET', path, { 'dapr-api-token': token })
    return [response.statusCode, JSON.parse(response.body).code]
  }
  t.same(await status('/text', trimmed), [200, undefined], 'a key file read with its newline')
  t.same(await status('/resolver', trimmed), [200, undefined], 'a resolver answering with surrounding whitespace')
  t.same(await status('/bytes', trimmed), [401, 'FST_DAPR_TOKEN_BAD_SIGNATURE'], 'bytes: the newline is part of the secret')
  t.same(await status('/bytes', overBytes), [200, undefined])
  t.same(await status('/text', overBytes), [401, 'FST_DAPR_TOKEN_BAD_SIGNATURE'])
})
