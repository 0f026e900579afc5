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
    [{ key: '' }, /does not fit this key \(it fits nothing\)/],
    [{ key: { kty: 'oct' } }, /fits nothing/],
    [{ key: HS_SECRET, algorithm: 'RS256' }, /RS256 does not fit this key \(it fits HS256, HS384, HS512\)/],
    [{ key: es.publicKey }, /fits nothing/],
    [{ key: es.privateKey, algorithm: 'ES256' }, /fits ES512/]
  ]
  for (const [options, message] of bad) t.throws(() => signDaprJwt({}, options), DaprTokenOptionsError, String(message))
  for (const [options, message] of bad) t.throws(() => signDaprJwt({}, options), { message }, String(message))
  t.match(signDaprJwt({}, { key: createSecretKey(Buffer.from(HS_SECRET)) }).length, Number)
  const secretObject = signDaprJwt({}, { key: { kty: 'oct', k: Buffer.from(HS_SECRET).toString('base64url') }, algorithm: 'HS384' })
  t.equal(JSON.parse(Buffer.from(secretObject.split('.')[0] as string, 'base64url').toString()).alg, 'HS384')
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
