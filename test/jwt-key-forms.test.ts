import { test, type Test } from 'tap'
import Fastify from 'fastify'
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import daprTokenAuth, { signDaprJwt, type JwtKey } from '../lib/index.js'
import { prepareKey } from '../lib/jwt/keys.js'
import { listen, send } from './helpers/http.js'
import { forgeHmac, nowSeconds } from './helpers/jwt.js'

// A public key without PEM armour (Keycloak's realm `public_key`, a DER buffer, a certificate) is
// still a public key: it must never be taken as an HMAC secret (the HS256 forgery), and a private
// key in any of those forms is refused at registration.

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const spkiDer = rsa.publicKey.export({ type: 'spki', format: 'der' })
const bareBase64 = spkiDer.toString('base64')
const certPem = readFileSync(join(__dirname, 'fixtures', 'jwt-cert.pem'), 'utf8')
const certKey = createPrivateKey(readFileSync(join(__dirname, 'fixtures', 'jwt-cert.key.pem'), 'utf8'))
const certDer = Buffer.from(certPem.replace(/-----[A-Z ]+-----|\s+/g, ''), 'base64')
const hexSpki = spkiDer.toString('hex')
const jwkJson = JSON.stringify(rsa.publicKey.export({ format: 'jwk' }))
const withBom = (text: string): string => `\ufeff${text}`
const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string

async function server (t: Test, key: JwtKey): Promise<number> {
  const app = Fastify()
  await app.register(daprTokenAuth, { jwt: { key } })
  app.get('/orders', async () => ({ ok: true }))
  t.teardown(() => app.close())
  return (await listen(app)).port
}

function forged (secret: string | Buffer): string {
  return forgeHmac({ alg: 'HS256', typ: 'JWT' }, { sub: 'attacker', exp: nowSeconds() + 60 }, secret)
}

for (const [name, key, secrets] of [
  ['bare base64 SPKI text (Keycloak realm public_key)', bareBase64, [bareBase64]],
  ['bare base64 SPKI text with PEM line breaks', bareBase64.replace(/.{64}/g, '$&\n'), [bareBase64, bareBase64.replace(/.{64}/g, '$&\n')]],
  ['base64url SPKI text', spkiDer.toString('base64url'), [spkiDer.toString('base64url')]],
  ['SPKI DER bytes', spkiDer, [spkiDer, bareBase64]],
  ['hex SPKI text (openssl, xxd -p)', hexSpki, [hexSpki]],
  ['hex SPKI text with line breaks and colons', hexSpki.replace(/(..)(?=.)/g, '$1:').replace(/.{48}/g, '$&\n'), [hexSpki]],
  ['a JWK file saved with a UTF-8 byte order mark', withBom(jwkJson), [withBom(jwkJson), jwkJson]],
  ['the same JWK as bytes with the byte order mark', Buffer.from(withBom(jwkJson)), [Buffer.from(withBom(jwkJson))]],
  ['a PEM file saved with a UTF-8 byte order mark', withBom(rsaPem), [withBom(rsaPem), rsaPem]]
] as const) {
  test(`a public key given as ${name} is a public key: the HS256 forgery is a 401, a real RS256 token a 200`, async t => {
    const port = await server(t, key)
    for (const secret of secrets) {
      const res = await send(port, 'GET', '/orders', { 'dapr-api-token': forged(secret) })
      t.equal(res.statusCode, 401)
      t.equal(JSON.parse(res.body).code, 'FST_DAPR_TOKEN_ALGORITHM')
    }
    const ok = await send(port, 'GET', '/orders', { 'dapr-api-token': signDaprJwt({ sub: 'caller' }, { key: rsa.privateKey }) })
    t.equal(ok.statusCode, 200)
    t.same(JSON.parse(ok.body), { ok: true })
  })
}

test('an X.509 certificate (PEM, base64 DER or DER bytes) verifies with its public key, never as an HMAC secret', async t => {
  const expected = createPublicKey(certPem).export({ type: 'spki', format: 'pem' })
  for (const key of [certPem, certDer.toString('base64'), certDer]) {
    const prepared = prepareKey(key)
    t.match(prepared, { hmac: false, algorithms: ['ES256'] })
    t.equal(typeof prepared === 'string' ? prepared : prepared.key.export({ type: 'spki', format: 'pem' }), expected)
  }
  const port = await server(t, certDer.toString('base64'))
  const res = await send(port, 'GET', '/orders', { 'dapr-api-token': forged(certDer.toString('base64')) })
  t.equal(res.statusCode, 401)
  t.equal(JSON.parse(res.body).code, 'FST_DAPR_TOKEN_ALGORITHM')
  const ok = await send(port, 'GET', '/orders', { 'dapr-api-token': signDaprJwt({ sub: 'caller' }, { key: certKey }) })
  t.equal(ok.statusCode, 200)
})

test('a private key in any form is refused at registration with FST_DAPR_TOKEN_OPTIONS', async t => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const pkcs8 = rsa.privateKey.export({ type: 'pkcs8', format: 'der' })
  const forms: Array<[string, JwtKey]> = [
    ['bare base64 PKCS#8', pkcs8.toString('base64')],
    ['PKCS#8 DER bytes', pkcs8],
    ['PKCS#1 DER bytes', rsa.privateKey.export({ type: 'pkcs1', format: 'der' })],
    ['bare base64 SEC1', ec.privateKey.export({ type: 'sec1', format: 'der' }).toString('base64')],
    ['PKCS#8 PEM', rsa.privateKey.export({ type: 'pkcs8', format: 'pem' })]
  ]
  for (const [name, key] of forms) {
    const app = Fastify()
    app.register(daprTokenAuth, { jwt: { key } })
    await t.rejects(async () => await app.ready(), { code: 'FST_DAPR_TOKEN_OPTIONS', message: '`jwt.key`: a private key was given where a public key is needed' }, name)
    await app.close()
  }
})

test('secrets that merely look like base64 or DER stay HMAC secrets', async t => {
  const derLike = Buffer.concat([Buffer.from([0x30, 0x82, 0x01, 0x00]), Buffer.alloc(60, 7)])
  for (const secret of ['dGhpcyBpcyBhIHNlY3JldCBvZiAzMiBieXRlcyEhISE=' + 'QUJD'.repeat(5), derLike, '0'.repeat(64), '30' + 'ab'.repeat(31), derLike.toString('hex')]) {
    t.match(prepareKey(secret), { hmac: true, algorithms: ['HS256', 'HS384', 'HS512'] })
  }
})

test('a JWKS document or other JSON given as the key is refused at registration, never taken as an HMAC secret', async t => {
  const jwks = JSON.stringify({ keys: [JSON.parse(jwkJson)] })
  for (const key of [jwks, Buffer.from(jwks), withBom(jwks), '{"a":1}', '[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]']) {
    const app = Fastify()
    app.register(daprTokenAuth, { jwt: { key } })
    await t.rejects(async () => { await app.ready() }, { code: 'FST_DAPR_TOKEN_OPTIONS' })
    await app.close()
  }
  t.match(prepareKey(jwks), /a JWKS document/)
  t.equal(prepareKey('{"a":1}'), 'the key is JSON but not a JWK')
})

test('a resolver answering with a JWKS document, a hex public key or a short secret: 401 FST_DAPR_TOKEN_UNUSABLE_KEY or ALGORITHM, never accepted', async t => {
  const jwks = JSON.stringify({ keys: [JSON.parse(jwkJson)] })
  const answers: Array<[JwtKey, string, string]> = [
    [jwks, jwks, 'FST_DAPR_TOKEN_UNUSABLE_KEY'],
    ['short-secret', 'short-secret', 'FST_DAPR_TOKEN_UNUSABLE_KEY'],
    [hexSpki, hexSpki, 'FST_DAPR_TOKEN_ALGORITHM']
  ]
  for (const [answer, secret, code] of answers) {
    const app = Fastify()
    await app.register(daprTokenAuth, { jwt: { key: () => answer, algorithms: ['HS256', 'HS384'] } })
    app.get('/orders', async () => ({ ok: true }))
    const { port } = await listen(app)
    const res = await send(port, 'GET', '/orders', { 'dapr-api-token': forged(secret) })
    t.equal(res.statusCode, 401)
    t.equal(JSON.parse(res.body).code, code)
    await app.close()
  }
})
