import { test } from 'tap'
import fc from 'fast-check'
import { buildKeySet, matchToken, normaliseTokens } from '../lib/compare.js'

/** What a socket hands over for a token sent as UTF-8: one latin1 code unit per byte. */
const onTheWire = (token: string): string => Buffer.from(token, 'utf8').toString('latin1')

test('matchToken accepts exactly the configured keys, at their first position (property)', async t => {
  const key = fc.string({ minLength: 1, maxLength: 40 }).filter(s => s.trim() === s && s !== '')
  fc.assert(fc.property(fc.array(key, { minLength: 1, maxLength: 5 }), fc.string({ maxLength: 50 }), (keys, other) => {
    const set = buildKeySet(keys)
    keys.forEach(k => {
      if (matchToken(onTheWire(k), set) !== keys.indexOf(k)) throw new Error(`key ${JSON.stringify(k)} not matched at its first position`)
    })
    const expected = keys.map(onTheWire).indexOf(onTheWire(other))
    return matchToken(onTheWire(other), set) === expected
  }), { numRuns: 500 })
  t.pass('500 random key sets')
})

test('matchToken refuses every prefix and extension of a key (property)', async t => {
  fc.assert(fc.property(fc.string({ minLength: 2, maxLength: 64, unit: 'binary-ascii' }).filter(s => s.trim() === s), fc.string({ minLength: 1, maxLength: 8, unit: 'binary-ascii' }), (k, extra) => {
    const set = buildKeySet([k])
    return matchToken(k.slice(0, -1), set) === -1 && matchToken(k + extra, set) === -1 && matchToken(extra + k, set) === -1
  }), { numRuns: 500 })
  t.pass('500 random keys')
})

test('normaliseTokens trims, drops blanks and non-strings, keeps order', async t => {
  t.same(normaliseTokens(' a\n'), ['a'])
  t.same(normaliseTokens(['b ', '', '  ', 'c']), ['b', 'c'])
  t.same(normaliseTokens([1, 'd'] as unknown as string[]), ['d'])
})

test('matchToken over many keys of one length (several passes of four) finds each at its first position', async t => {
  const keys = Array.from({ length: 9 }, (_, i) => `token-${String(i).padStart(2, '0')}-of-the-same-length`)
  const listed = [...keys, keys[5] as string, 'short', keys[0] as string, 'a-key-of-another-length-entirely']
  const set = buildKeySet(listed)
  keys.forEach((key, i) => { t.equal(matchToken(key, set), i, key) })
  t.equal(matchToken('short', set), 10)
  t.equal(matchToken('a-key-of-another-length-entirely', set), 12)
  t.equal(matchToken('token-09-of-the-same-length', set), -1, 'same length, not a key')
  t.equal(matchToken('token-00-of-the-same-lengtH', set), -1, 'last character differs')
  t.equal(matchToken('', set), -1)
})
