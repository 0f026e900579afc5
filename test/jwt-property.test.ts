import { test } from 'tap'
import Fastify from 'fastify'
import fc from 'fast-check'
import daprTokenAuth, { signDaprJwt } from '../lib/index.js'
import { ecKeyPair, HS_SECRET } from './helpers/jwt.js'

// Whatever a client sends, the answer is 200 only for the genuine token, and never a 5xx.

const k1 = ecKeyPair('k1')
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.'

function mutations (valid: string): fc.Arbitrary<string> {
  return fc.oneof(
    // Replace one character (anywhere, including the dots) with another token character.
    fc.tuple(fc.nat(valid.length - 1), fc.constantFrom(...BASE64URL)).map(([i, c]) => valid.slice(0, i) + c + valid.slice(i + 1)),
    // Cut the token short or drop one character.
    fc.nat(valid.length - 1).map(i => valid.slice(0, i)),
    fc.nat(valid.length - 1).map(i => valid.slice(0, i) + valid.slice(i + 1)),
    // Swap one part for the same part of another valid token.
    fc.tuple(fc.nat(2), fc.string({ minLength: 1, maxLength: 8 })).map(([part, extra]) => {
      const other = signDaprJwt({ extra }, { key: k1.privateKey, kid: 'k1' }).split('.')
      const parts = valid.split('.')
      parts[part] = other[part] as string
      return parts.join('.')
    }),
    // Append anything.
    fc.string({ maxLength: 20 }).map(tail => valid + tail)
  )
}

for (const [name, jwt, valid] of [
  ['ES256 public key', { key: k1.publicKey, algorithms: ['ES256'] as const }, signDaprJwt({ sub: 'a' }, { key: k1.privateKey, kid: 'k1' })],
  ['HS256 resolver', { key: () => HS_SECRET, algorithms: ['HS256'] as const }, signDaprJwt({ sub: 'a' }, { key: HS_SECRET })]
] as const) {
  test(`${name}: random strings and mutations of a valid token are never accepted and never a 5xx`, async t => {
    const app = Fastify()
    await app.register(daprTokenAuth, { jwt: { ...jwt, algorithms: [...jwt.algorithms] } })
    app.get('/', async () => 'ok')
    t.teardown(() => app.close())
    const status = async (token: string): Promise<number> =>
      (await app.inject({ url: '/', headers: { 'dapr-api-token': token } })).statusCode
    t.equal(await status(valid), 200)

    await fc.assert(fc.asyncProperty(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 100 }), mutations(valid)), async candidate => {
      if (candidate === valid) return
      const code = await status(candidate)
      // 401 for anything refused; an invalid header value (control characters) never reaches us.
      if (code !== 401 && !(code === 200 && candidate.trim() === valid)) throw new Error(`status ${code}`)
    }), { numRuns: 400, seed: 42 })
    t.pass('no forged or mangled token accepted, no 5xx')
  })
}
