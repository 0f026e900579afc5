import { test, type Test } from 'tap'
import Fastify from 'fastify'
import { constants, createHmac, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto'
import daprTokenAuth, { signDaprJwt, type DaprJwtOptions, type DecodedJwt, type JwtAlgorithm } from '../lib/index.js'
import { listen, send } from './helpers/http.js'
import { b64, HS_SECRET, nowSeconds } from './helpers/jwt.js'

// The verifier's own edge cases (lib/jwt/decode.ts, signature.ts, claims.ts), each over a real
// socket with its exact status and code: signature encodings and lengths, key confusion between
// algorithm families, JSON that is not an object, prototype keys, odd claim types and numbers, and
// which fault decides when a token has several.

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })

interface Answer { status: number, code: string | undefined, body: Record<string, unknown> }

async function server (t: Test, jwt: DaprJwtOptions): Promise<(token: string) => Promise<Answer>> {
  const app = Fastify()
  await app.register(daprTokenAuth, { jwt })
  app.get('/', async request => request.daprToken)
  t.teardown(() => app.close())
  const { port } = await listen(app)
  return async token => {
    const res = await send(port, 'GET', '/', { 'dapr-api-token': token })
    const body = JSON.parse(res.body) as Record<string, unknown>
    return { status: res.statusCode, code: body.code as string | undefined, body }
  }
}

/** A token over any header and payload (objects, or JSON text as sent), signed by `signer`. */
function token (header: Record<string, unknown> | string, payload: Record<string, unknown> | string, signer: (input: Buffer) => Buffer): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${signer(Buffer.from(input)).toString('base64url')}`
}

const hs256 = (input: Buffer): Buffer => createHmac('sha256', HS_SECRET).update(input).digest()
const es256 = (input: Buffer): Buffer => cryptoSign('sha256', input, { key: p256.privateKey, dsaEncoding: 'ieee-p1363' })
const rs256 = (input: Buffer): Buffer => cryptoSign('sha256', input, rsa.privateKey)
const ps256 = (saltLength: number) => (input: Buffer): Buffer => cryptoSign('sha256', input, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength })

/** The same token with one byte of its signature changed. */
function flipSignature (jwt: string): string {
  const dot = jwt.lastIndexOf('.')
  const signature = Buffer.from(jwt.slice(dot + 1), 'base64url')
  const middle = signature.length >> 1
  signature[middle] = (signature[middle] as number) ^ 0x01
  return `${jwt.slice(0, dot + 1)}${signature.toString('base64url')}`
}

const ok = { status: 200, code: undefined }
const refused = (code: string): { status: number, code: string } => ({ status: 401, code: `FST_DAPR_TOKEN_${code}` })

test('every supported algorithm verifies its own tokens and refuses a changed signature', async t => {
  const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  const ec521 = generateKeyPairSync('ec', { namedCurve: 'P-521' })
  const ed25519 = generateKeyPairSync('ed25519')
  const ed448 = generateKeyPairSync('ed448')
  const cases: Array<[JwtAlgorithm, string | KeyObject, string | KeyObject]> = [
    ['HS256', HS_SECRET, HS_SECRET],
    ['HS384', HS_SECRET, HS_SECRET],
    ['HS512', HS_SECRET, HS_SECRET],
    ['RS256', rsa.publicKey, rsa.privateKey],
    ['RS384', rsa.publicKey, rsa.privateKey],
    ['RS512', rsa.publicKey, rsa.privateKey],
    ['PS256', rsa.publicKey, rsa.privateKey],
    ['PS384', rsa.publicKey, rsa.privateKey],
    ['PS512', rsa.publicKey, rsa.privateKey],
    ['ES256', p256.publicKey, p256.privateKey],
    ['ES384', ec384.publicKey, ec384.privateKey],
    ['ES512', ec521.publicKey, ec521.privateKey],
    ['EdDSA', ed25519.publicKey, ed25519.privateKey],
    ['EdDSA', ed448.publicKey, ed448.privateKey]
  ]
  for (const [algorithm, verifyKey, signKey] of cases) {
    const call = await server(t, { key: verifyKey, algorithms: [algorithm] })
    const jwt = signDaprJwt({ sub: algorithm }, { key: signKey, algorithm })
    const good = await call(jwt)
    t.match(good, { ...ok, body: { kind: 'jwt', claims: { sub: algorithm } } }, `${algorithm}: accepted`)
    t.match(await call(flipSignature(jwt)), refused('BAD_SIGNATURE'), `${algorithm}: one signature byte changed`)
  }
})

test('ES256 takes R || S only: a DER signature, or one byte more or less, is a bad signature', async t => {
  const call = await server(t, { key: p256.publicKey, algorithms: ['ES256'] })
  const claims = { sub: 'es' }
  t.match(await call(token({ alg: 'ES256' }, claims, es256)), ok)
  const der = token({ alg: 'ES256' }, claims, input => cryptoSign('sha256', input, p256.privateKey))
  t.match(await call(der), refused('BAD_SIGNATURE'), 'the same signature in DER (node:crypto\'s default)')
  t.match(await call(token({ alg: 'ES256' }, claims, input => Buffer.concat([es256(input), Buffer.from([0])]))), refused('BAD_SIGNATURE'), '65 bytes')
  t.match(await call(token({ alg: 'ES256' }, claims, input => es256(input).subarray(0, 63))), refused('BAD_SIGNATURE'), '63 bytes')
  t.match(await call(token({ alg: 'ES256' }, claims, () => Buffer.alloc(64))), refused('BAD_SIGNATURE'), 'R = S = 0')
})

test('HS256: a truncated or extended HMAC is a bad signature, whatever its prefix', async t => {
  const call = await server(t, { key: HS_SECRET, algorithms: ['HS256'] })
  t.match(await call(token({ alg: 'HS256' }, { n: 1 }, hs256)), ok)
  t.match(await call(token({ alg: 'HS256' }, { n: 1 }, input => hs256(input).subarray(0, 16))), refused('BAD_SIGNATURE'), 'the first half of the right HMAC')
  t.match(await call(token({ alg: 'HS256' }, { n: 1 }, input => Buffer.concat([hs256(input), Buffer.from([1])]))), refused('BAD_SIGNATURE'), 'the right HMAC and one byte more')
  t.match(await call(token({ alg: 'HS256' }, { n: 1 }, input => createHmac('sha512', HS_SECRET).update(input).digest())), refused('BAD_SIGNATURE'), 'an HS512 HMAC under alg HS256')
})

test('RS256 and PS256 on one RSA key: each signature only under its own alg; PSS salt as long as the digest', async t => {
  const call = await server(t, { key: rsa.publicKey, algorithms: ['RS256', 'PS256'] })
  t.match(await call(token({ alg: 'RS256' }, { n: 1 }, rs256)), ok)
  t.match(await call(token({ alg: 'PS256' }, { n: 1 }, ps256(32))), ok)
  t.match(await call(token({ alg: 'PS256' }, { n: 1 }, rs256)), refused('BAD_SIGNATURE'), 'PKCS#1 v1.5 signature under alg PS256')
  t.match(await call(token({ alg: 'RS256' }, { n: 1 }, ps256(32))), refused('BAD_SIGNATURE'), 'PSS signature under alg RS256')
  t.match(await call(token({ alg: 'PS256' }, { n: 1 }, ps256(constants.RSA_PSS_SALTLEN_MAX_SIGN))), refused('BAD_SIGNATURE'), 'PSS with the longest salt (RFC 7518 fixes it to 32 bytes)')
  t.match(await call(token({ alg: 'RS256' }, { n: 1 }, () => Buffer.alloc(512, 0xff))), refused('BAD_SIGNATURE'), 'longer than the modulus')
  t.match(await call(token({ alg: 'RS384' }, { n: 1 }, input => cryptoSign('sha384', input, rsa.privateKey))), refused('ALGORITHM'), 'RS384 is not pinned')
})

test('header and payload must be JSON objects: arrays, null, strings, numbers and broken JSON are malformed', async t => {
  const call = await server(t, { key: HS_SECRET, algorithms: ['HS256'] })
  for (const header of ['[]', '["HS256"]', 'null', '"HS256"', '1', 'true', '{"alg":"HS256"', '\uFEFF{"alg":"HS256"}']) {
    t.match(await call(token(header, { n: 1 }, hs256)), refused('MALFORMED'), `header ${JSON.stringify(header)}`)
  }
  for (const payload of ['[]', '[{"sub":"a"}]', 'null', '"claims"', '42', '{"sub":', '']) {
    t.match(await call(token({ alg: 'HS256' }, payload, hs256)), refused('MALFORMED'), `payload ${JSON.stringify(payload)}`)
  }
  t.match(await call(token({ alg: 'HS256' }, '{}', hs256)), ok, 'an empty object is a payload')
})

test('a __proto__ key anywhere in the payload or header is malformed, never a prototype', async t => {
  const call = await server(t, { key: HS_SECRET, algorithms: ['HS256'] })
  const payloads = [
    '{"sub":"a","__proto__":{"admin":true}}',
    '{"sub":"a","\\u005f_proto__":{"admin":true}}',
    '{"sub":"a","\\u005F\\u005Fproto\\u005F\\u005F":{"admin":true}}',
    '{"sub":"a","nested":{"list":[1,{"__proto__":{"admin":true}}]}}',
    '{"__proto__":null}'
  ]
  for (const payload of payloads) {
    t.match(await call(token({ alg: 'HS256' }, payload, hs256)), refused('MALFORMED'), payload)
  }
  t.match(await call(token('{"alg":"HS256","__proto__":{"alg":"none"}}', { sub: 'a' }, hs256)), refused('MALFORMED'), 'in the header')
  t.equal(({} as Record<string, unknown>).admin, undefined, 'Object.prototype untouched')
  t.equal(Object.getPrototypeOf({}), Object.prototype)

  // The word as a value, or escapes without it, are ordinary claims.
  const plain = await call(token({ alg: 'HS256' }, '{"note":"__proto__","name":"caf\\u00e9","deep":{"a":[1,{"b":null}]}}', hs256))
  t.match(plain, ok)
  t.same(plain.body.claims, { note: '__proto__', name: 'café', deep: { a: [1, { b: null }] } })
})

test('duplicate claim names: the last one counts, as JSON.parse reads them', async t => {
  const call = await server(t, { key: HS_SECRET, algorithms: ['HS256'] })
  const future = nowSeconds() + 600
  const past = nowSeconds() - 600
  t.match(await call(token({ alg: 'HS256' }, `{"exp":${future},"exp":${past}}`, hs256)), refused('EXPIRED'))
  t.match(await call(token({ alg: 'HS256' }, `{"exp":${past},"exp":${future}}`, hs256)), ok)
})

test('claims of the wrong type are a claim mismatch; huge numbers behave as numbers', async t => {
  const call = await server(t, { key: HS_SECRET, algorithms: ['HS256'], audience: ['app-a', 'app-b'], issuer: 'https://issuer.test', subject: 'caller', maxAge: 600 })
  const base = { aud: 'app-a', iss: 'https://issuer.test', sub: 'caller', iat: nowSeconds() }
  const cases: Array<[string, Record<string, unknown> | string, { status: number, code: string | undefined }]> = [
    ['exp null', { ...base, exp: null }, refused('CLAIM_MISMATCH')],
    ['exp a string', { ...base, exp: String(nowSeconds() + 60) }, refused('CLAIM_MISMATCH')],
    ['exp an array', { ...base, exp: [nowSeconds() + 60] }, refused('CLAIM_MISMATCH')],
    ['exp an object', { ...base, exp: { at: 1 } }, refused('CLAIM_MISMATCH')],
    ['nbf a string', { ...base, nbf: '0' }, refused('CLAIM_MISMATCH')],
    ['nbf true', { ...base, nbf: true }, refused('CLAIM_MISMATCH')],
    ['iat a string (maxAge)', { ...base, iat: String(nowSeconds()) }, refused('CLAIM_MISMATCH')],
    ['aud a number', { ...base, aud: 7 }, refused('CLAIM_MISMATCH')],
    ['aud an empty array', { ...base, aud: [] }, refused('CLAIM_MISMATCH')],
    ['aud an array with a number', { ...base, aud: ['app-a', 7] }, refused('CLAIM_MISMATCH')],
    ['aud an array without an allowed value', { ...base, aud: ['app-c'] }, refused('CLAIM_MISMATCH')],
    ['aud an array with an allowed value', { ...base, aud: ['app-c', 'app-b'] }, ok],
    ['sub a number', { ...base, sub: 1 }, refused('CLAIM_MISMATCH')],
    ['iss an object', { ...base, iss: { url: 'https://issuer.test' } }, refused('CLAIM_MISMATCH')],
    ['exp 1e400 (Infinity: not a date, never "never expires")', `{"aud":"app-a","iss":"https://issuer.test","sub":"caller","iat":${nowSeconds()},"exp":1e400}`, refused('CLAIM_MISMATCH')],
    ['exp -1e400', `{"aud":"app-a","iss":"https://issuer.test","sub":"caller","iat":${nowSeconds()},"exp":-1e400}`, refused('CLAIM_MISMATCH')],
    ['nbf 1e400', `{"aud":"app-a","iss":"https://issuer.test","sub":"caller","iat":${nowSeconds()},"nbf":1e400}`, refused('CLAIM_MISMATCH')],
    ['nbf -1e400', `{"aud":"app-a","iss":"https://issuer.test","sub":"caller","iat":${nowSeconds()},"nbf":-1e400}`, refused('CLAIM_MISMATCH')],
    ['iat -1e400', '{"aud":"app-a","iss":"https://issuer.test","sub":"caller","iat":-1e400}', refused('CLAIM_MISMATCH')],
    ['exp beyond 2^53', { ...base, exp: 2 ** 60 }, ok],
    ['exp 0', { ...base, exp: 0 }, refused('EXPIRED')]
  ]
  for (const [name, payload, expected] of cases) {
    t.match(await call(token({ alg: 'HS256' }, payload, hs256)), expected, name)
  }
})

test('the crit header: this verifier understands no extension, so any crit is malformed (after the signature)', async t => {
  const call = await server(t, { key: HS_SECRET, algorithms: ['HS256'] })
  for (const crit of [['exp'], ['b64'], [], 'x', false, null, 0]) {
    t.match(await call(token({ alg: 'HS256', crit, b64: true, exp: 1 }, { n: 1 }, hs256)), refused('MALFORMED'), `crit ${JSON.stringify(crit)}`)
  }
  t.match(await call(flipSignature(token({ alg: 'HS256', crit: ['x'] }, { n: 1 }, hs256))), refused('BAD_SIGNATURE'), 'a bad signature is reported first')
})

test('a token with several faults is refused for the first one checked, in the order fast-jwt used', async t => {
  const call = await server(t, { key: HS_SECRET, algorithms: ['HS256'], audience: 'app', requiredClaims: ['jti'] })
  const past = nowSeconds() - 600
  const future = nowSeconds() + 600
  const cases: Array<[string, string, string]> = [
    ['payload not an object and alg not pinned', token({ alg: 'HS512' }, '[]', hs256), 'MALFORMED'],
    ['alg not pinned and a bad signature', token({ alg: 'HS512' }, { jti: 'x', aud: 'app' }, () => Buffer.alloc(32)), 'ALGORITHM'],
    ['alg none and a claim missing', token({ alg: 'none' }, { aud: 'app' }, hs256), 'UNSIGNED'],
    ['a bad signature and expired', token({ alg: 'HS256' }, { jti: 'x', aud: 'app', exp: past }, () => Buffer.alloc(32)), 'BAD_SIGNATURE'],
    ['crit and expired', token({ alg: 'HS256', crit: ['x'], x: 1 }, { jti: 'x', aud: 'app', exp: past }, hs256), 'MALFORMED'],
    ['a required claim missing and expired', token({ alg: 'HS256' }, { aud: 'app', exp: past }, hs256), 'MISSING_CLAIM'],
    ['not yet valid and expired', token({ alg: 'HS256' }, { jti: 'x', aud: 'app', nbf: future, exp: past }, hs256), 'NOT_YET_VALID'],
    ['expired and a wrong audience', token({ alg: 'HS256' }, { jti: 'x', aud: 'other', exp: past }, hs256), 'EXPIRED'],
    ['the wrong type of exp and a wrong audience', token({ alg: 'HS256' }, { jti: 'x', aud: 'other', exp: 'soon' }, hs256), 'CLAIM_MISMATCH']
  ]
  for (const [name, jwt, code] of cases) t.match(await call(jwt), refused(code), name)
})

test('a required claim inherited from Object.prototype is still missing', async t => {
  const call = await server(t, { key: HS_SECRET, algorithms: ['HS256'], requiredClaims: ['toString', 'constructor'] })
  t.match(await call(token({ alg: 'HS256' }, { sub: 'a' }, hs256)), refused('MISSING_CLAIM'))
  t.match(await call(token({ alg: 'HS256' }, { toString: 'yes', constructor: 'too' }, hs256)), ok)
})

test('a key resolver sees the decoded token frozen: it cannot change what is verified or cached', async t => {
  const seen: boolean[] = []
  let attempt = ''
  const call = await server(t, {
    algorithms: ['HS256'],
    issuer: 'https://issuer.test',
    key: (_request, decoded: DecodedJwt) => {
      seen.push(Object.isFrozen(decoded), Object.isFrozen(decoded.header), Object.isFrozen(decoded.payload))
      try {
        decoded.payload.iss = 'https://issuer.test'
        ;(decoded as { payload: unknown }).payload = { iss: 'https://issuer.test' }
      } catch (error) {
        attempt = (error as Error).name
      }
      return HS_SECRET
    }
  })
  const jwt = token({ alg: 'HS256' }, { iss: 'https://evil.test' }, hs256)
  t.match(await call(jwt), refused('CLAIM_MISMATCH'), 'the claims as signed are checked')
  t.same(seen, [true, true, true])
  t.equal(attempt, 'TypeError', 'the write threw')
  const good = token({ alg: 'HS256' }, { iss: 'https://issuer.test', roles: ['a'] }, hs256)
  t.match(await call(good), { ...ok, body: { claims: { iss: 'https://issuer.test', roles: ['a'] } } })
  t.match(await call(good), { ...ok, body: { claims: { iss: 'https://issuer.test', roles: ['a'] } } }, 'and again from the cache')
})

// Regression: bytes that are not UTF-8 were decoded lossily (each to U+FFFD) and the token accepted.
test('a signed token whose payload or header bytes are not UTF-8 is a 401 FST_DAPR_TOKEN_MALFORMED', async t => {
  const call = await server(t, { key: HS_SECRET, algorithms: ['HS256'] })
  const raw = (header: Buffer, payload: Buffer): string => {
    const input = `${header.toString('base64url')}.${payload.toString('base64url')}`
    return `${input}.${hs256(Buffer.from(input)).toString('base64url')}`
  }
  const header = Buffer.from('{"alg":"HS256"}')
  const malformed = { status: 401, code: 'FST_DAPR_TOKEN_MALFORMED', body: { statusCode: 401, code: 'FST_DAPR_TOKEN_MALFORMED', error: 'Unauthorized', message: 'Malformed Dapr API token' } }
  t.same(await call(raw(header, Buffer.concat([Buffer.from('{"sub":"'), Buffer.from([0xff]), Buffer.from('"}')]))), malformed, '0xff in the payload')
  t.same(await call(raw(Buffer.concat([Buffer.from('{"alg":"HS256","kid":"'), Buffer.from([0xc0, 0x80]), Buffer.from('"}')]), Buffer.from('{}'))), malformed, 'an overlong NUL in the header')
  const sent = await call(raw(header, Buffer.from('{"sub":"\ufffd ünïcødé 🎉"}')))
  t.same(sent, { status: 200, code: undefined, body: { kind: 'jwt', claims: { sub: '\ufffd ünïcødé 🎉' } } }, 'U+FFFD and other characters sent as UTF-8')
})
