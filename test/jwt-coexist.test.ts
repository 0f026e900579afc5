import { test } from 'tap'
import Fastify from 'fastify'
import fastifyJwt from '@fastify/jwt'
import { createSecretKey, generateKeyPairSync } from 'node:crypto'
import daprTokenAuth, { signDaprJwt, DaprTokenOptionsError, type JwtTokenCredential } from '../lib/index.js'
import { listen, send } from './helpers/http.js'
import { ecKeyPair, HS_SECRET } from './helpers/jwt.js'

test('@fastify/jwt registered by the user for its own tokens: both plugins work, no decorator clash', async t => {
  const userSecret = 'the-users-own-secret-for-@fastify/jwt-tokens'
  const app = Fastify()
  await app.register(fastifyJwt, { secret: userSecret })
  await app.register(daprTokenAuth, { jwt: { key: HS_SECRET, algorithms: ['HS256'] } })
  app.get('/both', async request => {
    const user = await request.jwtVerify<{ user: string }>()
    const dapr = request.daprToken as JwtTokenCredential
    return { user: user.user, daprSub: dapr.claims.sub }
  })
  t.teardown(() => app.close())
  const { port } = await listen(app)

  const daprToken = signDaprJwt({ sub: 'sidecar' }, { key: HS_SECRET })
  const userToken = app.jwt.sign({ user: 'alice' })
  const ok = await send(port, 'GET', '/both', { 'dapr-api-token': daprToken, authorization: `Bearer ${userToken}` })
  t.equal(ok.statusCode, 200)
  t.same(JSON.parse(ok.body), { user: 'alice', daprSub: 'sidecar' })

  const swapped = await send(port, 'GET', '/both', { 'dapr-api-token': userToken, authorization: `Bearer ${daprToken}` })
  t.equal(swapped.statusCode, 401, 'a token for one is not accepted by the other')
  t.equal(JSON.parse(swapped.body).code, 'FST_DAPR_TOKEN_BAD_SIGNATURE')
})

test('signDaprJwt: claims and options, algorithm derived or checked, unusable keys refused', async t => {
  const es = ecKeyPair('k', 'P-521')
  const token = signDaprJwt({ role: 'x' }, { key: es.privateKey, kid: 'k', issuer: 'i', audience: ['a', 'b'], subject: 's', notBefore: 0, expiresIn: 10 })
  const [header, payload] = token.split('.').slice(0, 2).map(part => JSON.parse(Buffer.from(part as string, 'base64url').toString()))
  t.match(header, { alg: 'ES512', kid: 'k', typ: 'JWT' })
  t.match(payload, { role: 'x', iss: 'i', aud: ['a', 'b'], sub: 's' })
  t.equal(payload.exp - payload.iat, 10)
  t.equal(payload.nbf, payload.iat)
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  t.match(signDaprJwt({}, { key: rsa.privateKey.export({ format: 'jwk' }), algorithm: 'PS384' }).length, Number)
  t.match(signDaprJwt({}, { key: Buffer.from(rsa.privateKey.export({ type: 'pkcs1', format: 'pem' })) }).length, Number)
  const bad: Array<[Parameters<typeof signDaprJwt>[1], RegExp]> = [
    [{ key: '' }, /^Invalid fastify-dapr-token-auth options: signDaprJwt: the key is empty$/],
    [{ key: ' \n' }, /^Invalid fastify-dapr-token-auth options: signDaprJwt: the key is empty$/],
    [{ key: { kty: 'oct' } }, /^Invalid fastify-dapr-token-auth options: signDaprJwt: the key is empty$/],
    [{ key: 'short' }, /^Invalid fastify-dapr-token-auth options: signDaprJwt: the HMAC secret is too short: an HMAC secret must be at least as long as the hash: 32 bytes for HS256/],
    [{ key: HS_SECRET, algorithm: 'RS256' }, /RS256 does not fit this key \(it fits HS256, HS384, HS512\)$/],
    [{ key: 'x'.repeat(40), algorithm: 'HS512' }, /HS512 does not fit this key \(it fits HS256\); an HMAC secret must be at least as long as the hash/],
    [{ key: 'short', algorithm: 'HS256' }, /^Invalid fastify-dapr-token-auth options: signDaprJwt: the HMAC secret is too short/],
    [{ key: { kty: 'oct', k: Buffer.from('short').toString('base64url') } }, /^Invalid fastify-dapr-token-auth options: signDaprJwt: the HMAC secret is too short/],
    [{ key: createSecretKey(Buffer.from('short')) }, /^Invalid fastify-dapr-token-auth options: signDaprJwt: the HMAC secret is too short/],
    [{ key: es.publicKey }, /^Invalid fastify-dapr-token-auth options: signDaprJwt: a public key cannot sign: give the private key$/],
    [{ key: es.publicKey.export({ format: 'jwk' }) }, /^Invalid fastify-dapr-token-auth options: signDaprJwt: the key cannot be read as a private key \(a JWK with its private members\) or an HMAC secret$/],
    [{ key: '-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----' }, /^Invalid fastify-dapr-token-auth options: signDaprJwt: the key is a private key that cannot be read: give it as PEM, a KeyObject or a JWK$/],
    [{ key: generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 }).privateKey }, /^Invalid fastify-dapr-token-auth options: signDaprJwt: this private key fits no JWS algorithm/],
    [{ key: es.privateKey, algorithm: 'ES256' }, /fits ES512/],
    [{ key: HS_SECRET, algorithm: 'HS999' as 'HS256' }, /^Invalid fastify-dapr-token-auth options: signDaprJwt: `algorithm`: unsupported algorithm "HS999"$/],
    [{ key: HS_SECRET, alg: 'HS384' } as never, /^Invalid fastify-dapr-token-auth options: signDaprJwt: unknown option `alg` \(did you mean `algorithm`\?\)/],
    [{ key: HS_SECRET, audiance: 'x' } as never, /^Invalid fastify-dapr-token-auth options: signDaprJwt: unknown option `audiance` \(did you mean `audience`\?\)/],
    [{} as never, /^Invalid fastify-dapr-token-auth options: signDaprJwt: `key` is required/],
    [{ key: HS_SECRET, expiresIn: '15m' as unknown as number }, /^Invalid fastify-dapr-token-auth options: signDaprJwt: `expiresIn` must be a number of seconds \(negative: already expired\), or null for no `exp`$/],
    [{ key: HS_SECRET, expiresIn: Infinity }, /`expiresIn` must be a number of seconds/],
    [{ key: HS_SECRET, notBefore: -1 }, /^Invalid fastify-dapr-token-auth options: signDaprJwt: `notBefore` must be a non-negative number of seconds$/],
    [{ key: HS_SECRET, kid: '' }, /^Invalid fastify-dapr-token-auth options: signDaprJwt: `kid` must be a non-empty string$/],
    [{ key: HS_SECRET, issuer: 1 as unknown as string }, /^Invalid fastify-dapr-token-auth options: signDaprJwt: `issuer` must be a non-empty string$/],
    [{ key: HS_SECRET, audience: [] }, /^Invalid fastify-dapr-token-auth options: signDaprJwt: `audience` must be a non-empty string or a non-empty array of them$/],
    [{ key: HS_SECRET, audience: ['a', 2 as unknown as string] }, /`audience` must be/],
    // Text read as the verifier reads it: a public key in any form is no secret.
    [{ key: rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string }, /^Invalid fastify-dapr-token-auth options: signDaprJwt: a public key cannot sign: give the private key$/],
    [{ key: (rsa.publicKey.export({ type: 'spki', format: 'der' })).toString('base64') }, /a public key cannot sign/],
    [{ key: rsa.publicKey.export({ type: 'spki', format: 'der' }) }, /a public key cannot sign/],
    [{ key: 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 user@host' }, /^Invalid fastify-dapr-token-auth options: signDaprJwt: the key is an SSH public key/],
    [{ key: '-----BEGIN PUBLIC KEY-----\nbroken\n-----END PUBLIC KEY-----' }, /signDaprJwt: the key looks like PEM but cannot be read/],
    [{ key: (rsa.privateKey.export({ type: 'pkcs8', format: 'der' })).toString('base64') }, /^Invalid fastify-dapr-token-auth options: signDaprJwt: the key is a private key that cannot be read: give it as PEM, a KeyObject or a JWK$/],
    [{ key: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey }, /^Invalid fastify-dapr-token-auth options: signDaprJwt: RSA keys shorter than 2048 bits are refused$/]
  ]
  for (const [options, message] of bad) t.throws(() => signDaprJwt({}, options), DaprTokenOptionsError, String(message))
  for (const [options, message] of bad) t.throws(() => signDaprJwt({}, options), { message }, String(message))
  t.throws(() => signDaprJwt({}, undefined as never), { message: /^Invalid fastify-dapr-token-auth options: signDaprJwt: options must be an object such as \{ key \}$/ })
  t.throws(() => signDaprJwt(null as never, { key: HS_SECRET }), { message: /^Invalid fastify-dapr-token-auth options: signDaprJwt: the claims must be an object/ })
  t.throws(() => signDaprJwt([] as never, { key: HS_SECRET }), { message: /^Invalid fastify-dapr-token-auth options: signDaprJwt: the claims must be an object/ })
  for (const [claim, option] of [['exp', 'expiresIn'], ['nbf', 'notBefore'], ['iss', 'issuer'], ['aud', 'audience'], ['sub', 'subject']] as const) {
    t.throws(() => signDaprJwt({ [claim]: claim === 'exp' || claim === 'nbf' ? 2_000_000_000 : 'x' }, { key: HS_SECRET, [option]: claim === 'exp' || claim === 'nbf' ? 60 : 'y' }), {
      message: `Invalid fastify-dapr-token-auth options: signDaprJwt: \`${claim}\` is set both in the claims and by \`${option}\`: set it in one place`
    }, `${claim} and ${option}`)
  }
  const ownExp = JSON.parse(Buffer.from(signDaprJwt({ exp: 2_000_000_000 }, { key: HS_SECRET }).split('.')[1] as string, 'base64url').toString())
  t.equal(ownExp.exp, 2_000_000_000, 'an exp in the claims is kept: the default expiresIn does not replace it')
  const withNull = JSON.parse(Buffer.from(signDaprJwt({ exp: 2_000_000_000 }, { key: HS_SECRET, expiresIn: null }).split('.')[1] as string, 'base64url').toString())
  t.equal(withNull.exp, 2_000_000_000, 'and with expiresIn: null')
  t.throws(() => signDaprJwt({ exp: 'soon' }, { key: HS_SECRET }), { message: 'Invalid fastify-dapr-token-auth options: signDaprJwt: the claims: exp must be a whole number of seconds since the epoch, above 0 (RFC 7519), not a string' })
  const expired = JSON.parse(Buffer.from(signDaprJwt({}, { key: HS_SECRET, expiresIn: -60 }).split('.')[1] as string, 'base64url').toString())
  t.equal(expired.exp - expired.iat, -60, 'a negative expiresIn: already expired, for tests of the refusal')
  t.notOk('exp' in JSON.parse(Buffer.from(signDaprJwt({}, { key: HS_SECRET, expiresIn: null }).split('.')[1] as string, 'base64url').toString()), 'expiresIn: null: no exp')
  t.match(signDaprJwt({}, { key: createSecretKey(Buffer.from(HS_SECRET)) }).length, Number)
  const secretObject = signDaprJwt({}, { key: { kty: 'oct', k: Buffer.from(HS_SECRET).toString('base64url') }, algorithm: 'HS384' })
  t.equal(JSON.parse(Buffer.from(secretObject.split('.')[0] as string, 'base64url').toString()).alg, 'HS384')
})

test('signDaprJwt refuses an exp, nbf or iat that is not a whole number of seconds above 0 (an exp of 0 would make a token that never expires)', async t => {
  const rule = 'must be a whole number of seconds since the epoch, above 0 (RFC 7519), not'
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ exp: 0 }, `exp ${rule} 0`],
    [{ nbf: 0 }, `nbf ${rule} 0`],
    [{ iat: 0 }, `iat ${rule} 0`],
    [{ exp: -1 }, `exp ${rule} a negative number`],
    [{ nbf: 1.5 }, `nbf ${rule} a fraction`],
    [{ exp: Infinity }, `exp ${rule} a number that is not finite`],
    [{ iat: Number.NaN }, `iat ${rule} a number that is not finite`],
    [{ nbf: null }, `nbf ${rule} null`],
    [{ exp: [2_000_000_000] }, `exp ${rule} an array`],
    [{ iat: { at: 1 } }, `iat ${rule} an object`],
    [{ exp: '2000000000' }, `exp ${rule} a string`]
  ]
  for (const [claims, message] of cases) {
    t.throws(() => signDaprJwt(claims, { key: HS_SECRET }), DaprTokenOptionsError, message)
    t.throws(() => signDaprJwt(claims, { key: HS_SECRET, expiresIn: null }), { code: 'FST_DAPR_TOKEN_OPTIONS', message: `Invalid fastify-dapr-token-auth options: signDaprJwt: the claims: ${message}` }, message)
  }
  const payload = JSON.parse(Buffer.from(signDaprJwt({ exp: 1, nbf: 1, iat: 1 }, { key: HS_SECRET }).split('.')[1] as string, 'base64url').toString())
  t.same([payload.exp, payload.nbf, payload.iat], [1, 1, 1], '1 is the smallest accepted, kept as given')
})

test('fastify.verifyDaprToken on one route with a JWT: done(error) with the JWT code, credential set on success', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { jwt: { key: HS_SECRET, algorithms: ['HS256'] }, addHook: false })
  app.get('/open', async request => ({ daprToken: request.daprToken }))
  app.get('/guarded', { onRequest: app.verifyDaprToken }, async request => ({ daprToken: request.daprToken }))
  t.teardown(() => app.close())
  const { port } = await listen(app)
  t.same(JSON.parse((await send(port, 'GET', '/open')).body), { daprToken: null })
  const refused = await send(port, 'GET', '/guarded', { 'dapr-api-token': signDaprJwt({}, { key: HS_SECRET, notBefore: 120 }) })
  t.equal(refused.statusCode, 401)
  t.equal(JSON.parse(refused.body).code, 'FST_DAPR_TOKEN_NOT_YET_VALID')
  const ok = await send(port, 'GET', '/guarded', { 'dapr-api-token': signDaprJwt({ sub: 'x' }, { key: HS_SECRET }) })
  t.equal(ok.statusCode, 200)
  t.match(JSON.parse(ok.body), { daprToken: { kind: 'jwt', claims: { sub: 'x' } } })
})
