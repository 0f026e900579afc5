import { test } from 'tap'
import { checkShape } from '../lib/jwt/structure.js'
import { createHmac, createSecretKey, generateKeyPairSync, hash, randomBytes, sign } from 'node:crypto'
import { VerifiedCache } from '../lib/jwt/cache.js'
import { checkClaims } from '../lib/jwt/claims.js'
import { decodeObject, HeaderDecoder } from '../lib/jwt/decode.js'
import { hmacOf, oneShotHmac, streamHmac } from '../lib/jwt/hmac.js'
import { signatureCheck } from '../lib/jwt/signature.js'
import { signDaprJwt } from '../lib/index.js'
import { jwtVerifier } from '../lib/jwt/verify.js'
import { b64, forgeHmac, HS_SECRET } from './helpers/jwt.js'

/** The shape check's verdict, `undefined` for a right shape (which hands back where the signature is, or its bytes). */
function shapeOf (token: string): string | undefined {
  const verdict = checkShape(token)
  return typeof verdict === 'string' ? verdict : undefined
}

/** The same token with its signature part 200 characters longer (200 `A`s, zero bits, in front): checked by decoding. */
function longSignature (token: string): string {
  const dot = token.lastIndexOf('.')
  return token.length - dot - 1 === 0 ? token : token.slice(0, dot + 1) + 'A'.repeat(200) + token.slice(dot + 1)
}

test('shape check: three canonical base64url parts, before any crypto', async t => {
  const valid = signDaprJwt({}, { key: HS_SECRET })
  t.equal(checkShape(valid), valid.lastIndexOf('.'), 'a short signature: where it starts, not decoded')
  const long = longSignature(valid)
  t.same(checkShape(long), Buffer.from(long.slice(long.lastIndexOf('.') + 1), 'base64url'), 'a long signature: its bytes')
  t.equal(checkShape(`aQ.cQ.${'A'.repeat(128)}`), 5, '128 characters is still short')
  t.ok(Buffer.isBuffer(checkShape(`aQ.cQ.${'A'.repeat(132)}`)), '132 is long')
  // Past the kept buffer (RSA-8192's 1,024 bytes): 1,368 characters are 1,026 bytes.
  t.same(checkShape(`aQ.cQ.${'B'.repeat(1368)}`), Buffer.from('B'.repeat(1368), 'base64url'), 'a signature over 1,024 bytes: its bytes')
  t.equal(checkShape(`aQ.cQ.${'B'.repeat(1367)}=`), 'malformed', 'over 1,024 bytes, a skipped character is malformed too')
  t.equal(checkShape(`aQ.cQ.${'B'.repeat(339)}=`), 'malformed', 'and within the kept buffer')
  const cases: Array<[string, string | undefined]> = [
    ['', 'malformed'],
    ['abc', 'malformed'],
    ['a.b', 'malformed'],
    ['aQ.cQ.ef.gh', 'malformed'],
    ['.ab.cd', 'malformed'],
    ['ab..cd', 'malformed'],
    ['aQ.cQ.', 'unsigned'],
    ['aQ.cQ.e', 'malformed'], // 1 leftover character is never whole bytes
    ['aQ.cQ.ef', 'malformed'], // 'f' has non-zero spare bits
    ['aQ.cQ.eQ', undefined],
    ['aQ.cQ.eQ=', 'malformed'],
    ['aQ.cQ.abd', 'malformed'], // 'd' has non-zero spare bits
    ['aQ.cQ.abE', undefined],
    ['aQ.cQ.abcd', undefined],
    ['a+.cd.abcd', 'malformed'],
    ['ab.c/.abcd', 'malformed'],
    ['aQ.cQ.ab d', 'malformed'],
    ['aQ.cQ.-_-_', undefined],
    ['aQ.cQ.a-', 'malformed'], // '-' (62) leaves spare bits set
    ['aQ.cQ.ab_', 'malformed'], // so does '_' (63)
    ['aQ.cQ.ab\n', 'malformed'],
    ['aQ.cQ.abE\n', 'malformed'], // no line end after the signature
    ['aQ.cQ.ab\u00e9d', 'malformed'],
    // The signature part is checked by re-encoding its bytes: whatever a lax decoder skips or
    // aliases ('+' and '/' for '-' and '_', padding, a fourth dot, spaces) fails.
    ['aQ.cQ.ab+d', 'malformed'],
    ['aQ.cQ.ab/d', 'malformed'],
    ['aQ.cQ.abE=', 'malformed'],
    ['aQ.cQ.a=bE', 'malformed'],
    ['aQ.cQ.ab.cd', 'malformed'],
    ['aQ.cQ.abcd.', 'malformed'],
    ['aQ.cQ. abcd', 'malformed'],
    ['aQ.cQ.abcd\t', 'malformed'],
    ['aQ.cQ.ab\u0000cd', 'malformed'],
    ['aQ.cQ.-_-_-_-_', undefined],
    ['aQabc.cQ.abcd', 'malformed'], // a header part of 4n+1 characters
    ['a-.cQ.abcd', 'malformed'], // a header part ending in '-' or '_' has spare bits set
    ['aQ.c_.abcd', 'malformed'],
    ['aQ.cQ.' + 'A'.repeat(100_000), undefined],
    // A character above U+00FF decodes as its low byte ('ł' is U+0142, 'B' 0x42): refused anywhere.
    ['aQ.cQ.abc\u0142', 'malformed'],
    ['a\u0142.cQ.abcd', 'malformed'],
    ['aQ.c\u0142.abcd', 'malformed'],
    ['aQ.cQ.ab\u00c1d', 'malformed'],
    ['aQ.cQ.\ud83d\ude00', 'malformed']
  ]
  for (const [token, expected] of cases) {
    t.equal(shapeOf(token), expected, JSON.stringify(token).slice(0, 40))
    // Every verdict holds whichever way the signature part is checked (by the pattern or by decoding).
    t.equal(shapeOf(longSignature(token)), expected, `long: ${JSON.stringify(token).slice(0, 40)}`)
  }
  // Re-spelling the signature's last character (same bytes under a lax decoder) is refused.
  const sig = valid.slice(valid.lastIndexOf('.') + 1)
  t.equal(sig.length % 4, 3)
  const respelled = valid.slice(0, -1) + String.fromCharCode(valid.charCodeAt(valid.length - 1) + 1)
  t.equal(shapeOf(respelled), 'malformed')
})

// The header and payload parts are not matched by a pattern: a character Node's decoder skips
// makes the part decode short, and the decoder refuses it. Here each is signed as it stands, so only
// that check stands between it and acceptance.
test('a stray character in the header or payload part, correctly signed: malformed, never accepted', async t => {
  const verifier = jwtVerifier({ key: HS_SECRET, algorithms: ['HS256'], cache: false }, 'dapr-api-token')
  const request = {} as never
  const header = b64({ alg: 'HS256', typ: 'JWT' })
  const payload = b64({ sub: 'caller', scope: 'orders' })
  const signed = (h: string, p: string): string => `${h}.${p}.${createHmac('sha256', HS_SECRET).update(`${h}.${p}`).digest('base64url')}`
  t.match(verifier.verify(signed(header, payload), request), { kind: 'jwt' }, 'as made')
  // Four at once, on a boundary, are skipped whole by the decoder: the part still decodes to the
  // same JSON, and only its length shows them.
  for (const stray of ['=', '==', ' ', '!', '\t', '\n', '\u0000', '~', '*', '%', '"', '\\', '\u007f', '====', '    ', '!!!!', '\t\t\t\t', '%%%%']) {
    for (const at of [0, 4, 7]) {
      const inHeader = header.slice(0, at) + stray + header.slice(at)
      const inPayload = payload.slice(0, at) + stray + payload.slice(at)
      t.equal(verifier.verify(signed(inHeader, payload), request), 'malformed', `header, ${JSON.stringify(stray)} at ${at}`)
      t.equal(verifier.verify(signed(header, inPayload), request), 'malformed', `payload, ${JSON.stringify(stray)} at ${at}`)
    }
  }
  t.equal(decodeObject(`${payload.slice(0, 4)}    ${payload.slice(4)}`), undefined, 'decodeObject itself refuses it')
  t.equal(decodeObject(`${payload.slice(0, 5)} ${payload.slice(5)}`), undefined, 'and a part of 4n + 1 characters, which no canonical part has')
  t.equal(decodeObject(`${'A'.repeat(6000)}=${b64({})}`), undefined, 'past the scratch buffer too')
})

test('verified cache: LRU bound, expiry and key version', async t => {
  const cache = new VerifiedCache(2)
  const credential = { kind: 'jwt' as const, claims: {} }
  cache.set('a', credential, 1000, 1)
  t.equal(cache.get('a', 999, 1)?.credential, credential)
  t.equal(cache.get('a', 999, 2), undefined, 'another key version')
  t.equal(cache.size, 0, 'and the stale entry is gone')
  cache.set('a', credential, 1000, 1)
  t.equal(cache.get('a', 1000, 1), undefined, 'not at or past its end')
  cache.set('a', credential, 1000, undefined)
  cache.set('b', credential, 1000, undefined)
  cache.set('a', credential, 1000, undefined)
  cache.set('c', credential, 1000, undefined)
  t.equal(cache.size, 2)
  t.equal(cache.get('b', 0, undefined), undefined, 'b was least recently used')
  t.equal(cache.get('a', 0, undefined)?.credential, credential)
  cache.clear()
  t.equal(cache.size, 0)
})

test('verified cache: a hit gives its entry a second chance at eviction, and the oldest unused entry goes', async t => {
  const cache = new VerifiedCache(2)
  const credential = { kind: 'jwt' as const, claims: {} }
  cache.set('a', credential, 1000, undefined)
  cache.set('b', credential, 1000, undefined)
  t.ok(cache.get('a', 0, undefined), 'a used')
  cache.set('c', credential, 1000, undefined)
  t.equal(cache.get('b', 0, undefined), undefined, 'b, unused, went though a is older')
  t.ok(cache.get('a', 0, undefined) !== undefined && cache.get('c', 0, undefined) !== undefined, 'a and c kept')
  cache.set('d', credential, 1000, undefined)
  t.equal(cache.size, 2, 'every entry used: one still goes, never the new one')
  t.equal(cache.get('a', 0, undefined), undefined, 'a, the oldest, once every second chance is spent')
  t.ok(cache.get('c', 0, undefined) !== undefined && cache.get('d', 0, undefined) !== undefined)
})

test('verified cache: tokens that share the tail the map is keyed by are told apart by the whole token', async t => {
  const cache = new VerifiedCache(4)
  const first = { kind: 'jwt' as const, claims: { sub: 'first' } }
  const second = { kind: 'jwt' as const, claims: { sub: 'second' } }
  const tail = '.' + 'S'.repeat(43)
  cache.set('header.first' + tail, first, 1000, undefined)
  t.equal(cache.get('header.first' + tail, 0, undefined)?.credential, first)
  t.equal(cache.get('header.other' + tail, 0, undefined), undefined, 'same tail, another token: a miss')
  t.equal(cache.get('header.first' + tail, 0, undefined)?.credential, first, 'and the entry stays')
  cache.set('header.second' + tail, second, 1000, undefined)
  t.equal(cache.size, 1, 'the later token takes the slot')
  t.equal(cache.get('header.second' + tail, 0, undefined)?.credential, second)
  t.equal(cache.get('header.first' + tail, 0, undefined), undefined, 'the earlier one is verified again')
})

test('resolver mode reads alg before asking for a key: none, absent or odd algs never reach the resolver', async t => {
  let calls = 0
  const verifier = jwtVerifier({ key: () => { calls++; return HS_SECRET }, algorithms: ['HS256'] }, 'dapr-api-token')
  const request = {} as never
  t.equal(verifier.verify(forgeHmac({ alg: 'none' }, {}, HS_SECRET, 'sha256'), request), 'unsigned')
  t.equal(verifier.verify(forgeHmac({ typ: 'JWT' }, {}, HS_SECRET, 'sha256'), request), 'algorithm')
  t.equal(verifier.verify(forgeHmac({ alg: ['HS256'] }, {}, HS_SECRET, 'sha256'), request), 'algorithm')
  t.equal(verifier.verify(`${b64('{')}.${b64({})}.${b64('sig')}`, request), 'malformed')
  t.equal(calls, 0)
})

test('header memo: the same header part decodes to the same frozen object; long or many headers stay bounded', async t => {
  const headers = new HeaderDecoder()
  const segment = b64({ alg: 'HS256', typ: 'JWT', jwk: { kty: 'oct' } })
  const first = headers.decode(segment)
  t.same(first, { alg: 'HS256', typ: 'JWT', jwk: { kty: 'oct' } })
  t.equal(headers.decode(segment), first, 'remembered')
  t.ok(Object.isFrozen(first) && Object.isFrozen(first?.jwk), 'deeply frozen: shared by every token with this header')
  const long = b64({ alg: 'HS256', pad: 'x'.repeat(600) })
  t.not(headers.decode(long), headers.decode(long), 'a header part over 512 characters is decoded each time')
  t.same(headers.decode(long), { alg: 'HS256', pad: 'x'.repeat(600) })
  for (let i = 0; i < 16; i++) headers.decode(b64({ alg: 'HS256', i }))
  t.not(headers.decode(segment), first, '16 other headers later it was forgotten: the memo never grows past 16')
  t.equal(headers.decode(b64([1])), undefined, 'not an object')
  t.equal(headers.decode(b64('{')), undefined, 'not JSON')
})

test('decodeObject: JSON objects only, deeply frozen, no __proto__ key at any depth', async t => {
  const value = decodeObject(b64({ a: [1, { b: 2 }], c: null, d: 'x' })) as { a: [number, { b: number }] }
  t.same(value, { a: [1, { b: 2 }], c: null, d: 'x' })
  t.ok(Object.isFrozen(value) && Object.isFrozen(value.a) && Object.isFrozen(value.a[1]), 'frozen throughout')
  for (const text of ['[]', 'null', '1', '"s"', '{', '{"__proto__":1}', '{"a":[{"\\u005f_proto__":1}]}']) {
    t.equal(decodeObject(b64(text)), undefined, text)
  }
  t.same(decodeObject(b64('{"a":"\\u0041","__proto":1}')), { a: 'A', __proto: 1 }, 'escapes and near-misses are fine')
})

test('decodeObject: a flat object takes the short way; anything that could nest or hide __proto__ is walked', async t => {
  const flat = decodeObject(b64('{"sub":"a","exp":1}'))
  t.same(flat, { sub: 'a', exp: 1 })
  t.ok(Object.isFrozen(flat), 'a flat object is frozen')
  t.ok(Object.isFrozen((decodeObject(b64('{"a":[1,2]}')) as { a: number[] }).a), 'an array member is frozen')
  t.ok(Object.isFrozen((decodeObject(b64('{"a":{"b":1}}')) as { a: object }).a), 'an object member is frozen')
  t.ok(Object.isFrozen((decodeObject(b64(' {"a":{"b":1}}')) as { a: object }).a), 'after leading whitespace too')
  // With values that are no objects: nothing else in the text sends them the long way.
  t.equal(decodeObject(b64('{"\\u005f_proto__":true}')), undefined, 'an escaped __proto__ key at the top')
  t.equal(decodeObject(b64('{"__proto__":true}')), undefined, 'a plain __proto__ key at the top')
  t.same(decodeObject(b64('{"note":"{[\\\\__proto__"}')), { note: '{[\\__proto__' }, 'the same characters in a value only take the long way')
})

test('decodeObject: bytes that are not UTF-8 are no JSON text; a U+FFFD the signer sent is kept', async t => {
  const bytes = (...parts: Array<string | number[]>): string => Buffer.concat(parts.map(part => typeof part === 'string' ? Buffer.from(part) : Buffer.from(part))).toString('base64url')
  for (const [name, bad] of [['0xff', [0xff]], ['0xfe', [0xfe]], ['an overlong NUL', [0xc0, 0x80]], ['a lone continuation byte', [0x80]], ['a truncated sequence', [0xe2, 0x82]], ['a surrogate', [0xed, 0xa0, 0x80]]] as const) {
    t.equal(decodeObject(bytes('{"sub":"', [...bad], '"}')), undefined, name)
    // Past the scratch buffer's size too.
    t.equal(decodeObject(bytes('{"pad":"', 'x'.repeat(5000), '","sub":"', [...bad], '"}')), undefined, `${name}, long segment`)
  }
  t.same(decodeObject(bytes('{"sub":"\ufffd ünïcødé 🎉"}')), { sub: '\ufffd ünïcødé 🎉' }, 'U+FFFD sent as UTF-8 is a character like any other')
  t.same(decodeObject(bytes('{"pad":"', 'x'.repeat(5000), '","sub":"\ufffd"}')), { pad: 'x'.repeat(5000), sub: '\ufffd' })
  t.equal(new HeaderDecoder().decode(bytes('{"alg":"HS256","kid":"', [0xc0, 0x80], '"}')), undefined, 'in a header too')
})

test('checkClaims: the rules in order, with tolerance and maxAge in milliseconds', async t => {
  const rules = { toleranceMs: 5000, maxAgeMs: undefined, issuer: undefined, audience: undefined, subject: undefined, requiredClaims: [] }
  const now = 1_000_000_000
  t.equal(checkClaims({}, rules, now), undefined, 'no claims, no rules')
  t.equal(checkClaims({ exp: now / 1000 - 5 }, rules, now), undefined, 'expired within the tolerance')
  t.equal(checkClaims({ exp: now / 1000 - 5.001 }, rules, now), 'expired')
  t.equal(checkClaims({ nbf: now / 1000 + 5 }, rules, now), undefined, 'not yet valid within the tolerance')
  t.equal(checkClaims({ nbf: now / 1000 + 5.001 }, rules, now), 'notYetValid')
  const aged = { ...rules, maxAgeMs: 60_000, requiredClaims: ['iat'] }
  t.equal(checkClaims({ iat: now / 1000 - 60 }, aged, now), undefined, 'exactly maxAge old')
  t.equal(checkClaims({ iat: now / 1000 - 60.001 }, aged, now), 'expired', 'maxAge ignores clockTolerance')
  t.equal(checkClaims({}, aged, now), 'missingClaim')
  const allowed = { ...rules, issuer: ['i'], audience: ['a'], subject: ['s'] }
  t.equal(checkClaims({ iss: 'i', aud: ['x', 'a'], sub: 's' }, allowed, now), undefined)
  t.equal(checkClaims({ iss: ['i'], aud: 'a', sub: 's' }, allowed, now), 'claim', 'an array iss')
  t.equal(checkClaims({ iss: 'i', aud: 'a', sub: ['s'] }, allowed, now), 'claim', 'an array sub')
  t.equal(checkClaims({ iss: 'i', aud: { a: 1 }, sub: 's' }, allowed, now), 'claim', 'an object aud')
  t.equal(checkClaims({ iss: 'i', aud: 'b', sub: 's' }, allowed, now), 'claim')
})

test('signatureCheck: one KeyObject per key; wrong lengths and encodings are false, never a throw', async t => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const check = signatureCheck('ES256', ec.publicKey)
  const input = 'a.b'
  const token = (signature: Buffer, signed = input): string => `${signed}.${signature.toString('base64url')}`
  const raw = sign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' })
  t.equal(check(token(raw), 3, undefined), true)
  t.equal(check(token(raw, 'a.c'), 3, undefined), false)
  t.equal(check(token(raw), 3, raw), true, 'bytes the shape check decoded are used as they are')
  t.equal(check(token(raw), 3, Buffer.alloc(64)), false)
  t.equal(check(token(sign('sha256', Buffer.from(input), ec.privateKey)), 3, undefined), false, 'DER')
  t.equal(check('a.b.', 3, undefined), false)
  const hmac = signatureCheck('HS384', createSecretKey(Buffer.from(HS_SECRET)))
  const mac = createHmac('sha384', HS_SECRET).update(input).digest()
  t.equal(hmac(token(mac), 3, undefined), true)
  t.equal(hmac(token(mac.subarray(1)), 3, undefined), false)
  t.equal(hmac(token(Buffer.alloc(48)), 3, undefined), false)
  t.equal(hmac(token(mac), 3, mac), false, 'a signature long enough to be decoded is no HMAC')
  // Signing inputs longer than the buffers kept for them.
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  for (const length of [4095, 4096, 4097, 8192, 8193, 20_000]) {
    const signed = `${'e'.repeat(length - 2)}.f`
    t.equal(hmac(token(createHmac('sha384', HS_SECRET).update(signed).digest(), signed), length, undefined), true, `HMAC over ${length} bytes`)
    const rs = sign('sha256', Buffer.from(signed), rsa.privateKey)
    t.equal(signatureCheck('RS256', rsa.publicKey)(token(rs, signed), length, rs), true, `RS256 over ${length} bytes`)
  }
})

test('HMAC by one-shot hashes: the same bytes as createHmac for every digest, key length and input length', async t => {
  for (const digest of ['sha256', 'sha384', 'sha512']) {
    for (const keyLength of [1, 32, 63, 64, 65, 127, 128, 129, 300]) {
      const secret = randomBytes(keyLength)
      const key = createSecretKey(secret)
      const oneShot = oneShotHmac(digest, key)
      const stream = streamHmac(digest, key)
      for (const length of [0, 1, 55, 56, 64, 119, 120, 4096, 4097, 10_000]) {
        const text = randomBytes(length).toString('base64url').slice(0, length) + '.trailing'
        const expected = createHmac(digest, secret).update(text.slice(0, length)).digest('base64url')
        t.equal(oneShot(text, length), expected, `${digest}, ${keyLength}-byte key, ${length} bytes`)
        t.equal(stream(text, length), expected)
        // The kept buffer is reused: a shorter input after a longer one must not see its tail.
        t.equal(oneShot(text, 1), createHmac(digest, secret).update(text.slice(0, 1)).digest('base64url'))
      }
    }
  }
  t.equal(hmacOf, typeof hash === 'function' ? oneShotHmac : streamHmac, 'the one-shot form where node:crypto has `hash`')
})
