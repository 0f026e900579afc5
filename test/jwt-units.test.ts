import { test } from 'tap'
import { checkShape } from '../lib/jwt/structure.js'
import { VerifiedCache } from '../lib/jwt/cache.js'
import { signDaprJwt } from '../lib/index.js'
import { jwtVerifier } from '../lib/jwt/verify.js'
import { b64, forgeHmac, HS_SECRET } from './helpers/jwt.js'

test('shape check: three canonical base64url parts, before any crypto', async t => {
  const valid = signDaprJwt({}, { key: HS_SECRET })
  t.equal(checkShape(valid), undefined)
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
    ['aQ.cQ.ab\u00e9d', 'malformed']
  ]
  for (const [token, expected] of cases) t.equal(checkShape(token), expected, JSON.stringify(token))
  // Re-spelling the signature's last character (same bytes under a lax decoder) is refused.
  const sig = valid.slice(valid.lastIndexOf('.') + 1)
  t.equal(sig.length % 4, 3)
  const respelled = valid.slice(0, -1) + String.fromCharCode(valid.charCodeAt(valid.length - 1) + 1)
  t.equal(checkShape(respelled), 'malformed')
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
