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
const pkcs1Der = rsa.publicKey.export({ type: 'pkcs1', format: 'der' })

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
  ['a PEM file saved with a UTF-8 byte order mark', withBom(rsaPem), [withBom(rsaPem), rsaPem]],
  // Regression (the rest of this list): each of these was taken as an HMAC secret.
  ['PKCS#1 RSAPublicKey DER bytes', pkcs1Der, [pkcs1Der]],
  ['PKCS#1 RSAPublicKey as base64', pkcs1Der.toString('base64'), [pkcs1Der.toString('base64')]],
  ['PKCS#1 RSAPublicKey as hex', pkcs1Der.toString('hex'), [pkcs1Der.toString('hex')]],
  ['hex SPKI with a 0x prefix', `0x${hexSpki}`, [`0x${hexSpki}`]],
  ['bare base64 SPKI with its line breaks escaped as \\n (an env var)', bareBase64.replace(/.{64}/g, '$&\\n'), [bareBase64.replace(/.{64}/g, '$&\\n')]],
  ['a PEM with its line breaks escaped as \\n', rsaPem.replace(/\n/g, '\\n'), [rsaPem.replace(/\n/g, '\\n')]],
  ['SPKI DER held in a latin1 string', spkiDer.toString('latin1'), [spkiDer.toString('latin1'), spkiDer]],
  ['base64 of a PEM (as a Kubernetes Secret\'s data holds it)', Buffer.from(rsaPem).toString('base64'), [Buffer.from(rsaPem).toString('base64')]],
  ['base64 of a JWK', Buffer.from(jwkJson).toString('base64'), [Buffer.from(jwkJson).toString('base64')]]
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
  t.match(prepareKey(Buffer.from([0x30])), /the HMAC secret is too short/, 'a lone SEQUENCE tag is no DER, and too short a secret')
  t.match(prepareKey(Buffer.concat([Buffer.from([0x30, 0x80]), Buffer.alloc(62, 1)])), { hmac: true }, 'an indefinite length is no DER')
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

// Regression: key material that could not be read as a public key fell through to an HMAC secret.
test('text or bytes that look like key material but are no readable public key are refused, never HMAC secrets', async t => {
  const encrypted = rsa.privateKey.export({ type: 'pkcs8', format: 'der', cipher: 'aes-256-cbc', passphrase: 'pass' })
  const cases: Array<[string, JwtKey, RegExp]> = [
    ['a JWK with a trailing comma', jwkJson.replace(/}$/, ',}'), /the key looks like a JWK but does not parse as JSON/],
    ['a JWKS followed by a comment', `${JSON.stringify({ keys: [JSON.parse(jwkJson)] })} // keys`, /the key looks like a JWK but does not parse as JSON/],
    ['a PEM with four dashes', rsaPem.replace(/-----/g, '----'), /the key looks like PEM but cannot be read/],
    ['an encrypted PKCS#8 private key as DER', encrypted, /a private key was given where a public key is needed/],
    ['an RSA private key as PKCS#1 DER', rsa.privateKey.export({ type: 'pkcs1', format: 'der' }), /private key/],
    ['an OpenSSH public key line', `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${'A'.repeat(40)} user@host`, /the key is an SSH public key: convert it to PEM/],
    ['an ssh-rsa line', 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ' + 'C'.repeat(300), /SSH public key/],
    ['base64 of a PEM that cannot be read', Buffer.from(rsaPem.replace('MII', 'XXX')).toString('base64'), /the key looks like PEM but cannot be read/],
    ['a Proxy over a Buffer', new Proxy(Buffer.from('x'.repeat(64)), {}), /a key must be a string, bytes, a KeyObject or a JWK/],
    ['a Proxy over a JWK', new Proxy({ kty: 'oct', k: Buffer.alloc(64, 1).toString('base64url') }, {}), /a key must be/]
  ]
  for (const [name, key, message] of cases) {
    t.match(prepareKey(key), message, name)
    const app = Fastify()
    app.register(daprTokenAuth, { jwt: { key } })
    await t.rejects(async () => { await app.ready() }, { code: 'FST_DAPR_TOKEN_OPTIONS', message }, name)
    await app.close()
  }
})

test('public keys as UTF-16LE text or in quotes are public keys; text in no key form is a secret only with an HMAC pin', async t => {
  const utf16 = (text: string): Buffer => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])
  for (const key of [utf16(rsaPem), utf16(jwkJson), JSON.stringify(bareBase64), `'${bareBase64}'`, `"${rsaPem}"`]) {
    t.match(prepareKey(key), { hmac: false, algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] })
  }
  // An ASN.1 SEQUENCE of two INTEGERs (a DER ECDSA signature): structure, but no key read here.
  const sequence = Buffer.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02, ...Buffer.alloc(30, 9)])
  for (const key of [sequence, sequence.toString('base64'), 'x'.repeat(40)]) {
    t.match(prepareKey(key), { hmac: true, unmarked: true })
    const refused = Fastify()
    refused.register(daprTokenAuth, { jwt: { key } })
    await t.rejects(async () => { await refused.ready() }, { code: 'FST_DAPR_TOKEN_OPTIONS', message: /reads as no public key/ })
    await refused.close()
    const pinned = Fastify()
    await pinned.register(daprTokenAuth, { jwt: { key, algorithms: ['HS256'] } })
    await pinned.close()
  }
})

test('a binary secret that happens to start with the bytes of a byte order mark keeps them', async t => {
  const secret = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.alloc(40, 0x5a)])
  const app = Fastify()
  await app.register(daprTokenAuth, { jwt: { key: secret, algorithms: ['HS256'] } })
  app.get('/orders', async () => ({ ok: true }))
  t.teardown(() => app.close())
  const { port } = await listen(app)
  const ok = await send(port, 'GET', '/orders', { 'dapr-api-token': forged(secret) })
  t.equal(ok.statusCode, 200)
  const cut = await send(port, 'GET', '/orders', { 'dapr-api-token': forged(secret.subarray(3)) })
  t.equal(cut.statusCode, 401)
  t.equal(JSON.parse(cut.body).code, 'FST_DAPR_TOKEN_BAD_SIGNATURE')
})
