import { test } from 'tap'
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import Fastify from 'fastify'
import daprTokenAuth, { byKid, fingerprint, fromFile, jwtKeyFrom, signDaprJwt, type DaprJwtOptions } from '../lib/index.js'
import { listen, send } from './helpers/http.js'
import { eventually, tempDir } from './helpers/wait.js'

const jwks = (...keys: JsonWebKey[]): string => JSON.stringify({ keys })
const oct = (kid: string, secret: string): JsonWebKey => ({ kty: 'oct', kid, k: Buffer.from(secret).toString('base64url') })
const parseJwks = (content: string): JsonWebKey[] => (JSON.parse(content) as { keys: JsonWebKey[] }).keys

async function appWith (t: { teardown: (fn: () => Promise<void>) => void }, jwt: DaprJwtOptions): Promise<{ port: number, call: (token: string) => Promise<[number, string | undefined]> }> {
  const app = Fastify()
  await app.register(daprTokenAuth, { jwt })
  app.get('/', async () => 'ok')
  t.teardown(async () => { await app.close() })
  const { port } = await listen(app)
  return {
    port,
    async call (token) {
      const response = await send(port, 'GET', '/', { 'dapr-api-token': token })
      return [response.statusCode, response.statusCode === 200 ? undefined : JSON.parse(response.body).code]
    }
  }
}

test('JWT keys from a JWK file follow rotation by kid, with grace, and the verification cache follows the file', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'jwks.json')
  const one = oct('one', 'first-secret-with-enough-bytes-32!')
  const two = oct('two', 'second-secret-with-enough-bytes-32')
  await writeFile(path, jwks(one))
  const source = fromFile(path, { parse: parseJwks, graceMs: 150, debounceMs: 10, pollMs: 0 })
  const { call } = await appWith(t, { key: jwtKeyFrom(source), algorithms: ['HS256'], cache: true })

  const signedByOne = signDaprJwt({}, { key: 'first-secret-with-enough-bytes-32!', kid: 'one' })
  const signedByTwo = signDaprJwt({}, { key: 'second-secret-with-enough-bytes-32', kid: 'two' })
  t.same(await call(signedByOne), [200, undefined])
  t.same(await call(signedByOne), [200, undefined], 'now cached')
  t.same(await call(signedByTwo), [401, 'FST_DAPR_TOKEN_UNKNOWN_KID'])
  t.equal(source.state().watching, true, 'the plugin opened the source')

  await writeFile(path, jwks(two))
  t.ok(await eventually(async () => (await call(signedByTwo))[0] === 200), 'the new key is used')
  t.same(await call(signedByOne), [200, undefined], 'the old key is still valid in its grace')
  t.ok(await eventually(async () => (await call(signedByOne))[1] === 'FST_DAPR_TOKEN_UNKNOWN_KID'),
    'once its grace passed the old key is gone, cached verifications included')
  t.same(source.state().fingerprints, [fingerprint(JSON.stringify(two))])
})

test('a PEM file (no kid): the newest key verifies; closing the app closes the source', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'public.pem')
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  await writeFile(path, pair.publicKey.export({ type: 'spki', format: 'pem' }))
  const source = fromFile(path, { parse: content => [content], pollMs: 0 })
  const app = Fastify()
  await app.register(daprTokenAuth, { jwt: { key: jwtKeyFrom(source), algorithms: ['ES256'] } })
  app.get('/', async () => 'ok')
  const token = signDaprJwt({}, { key: pair.privateKey })
  t.equal((await app.inject({ url: '/', headers: { 'dapr-api-token': token } })).statusCode, 200)
  t.equal((await app.inject({ url: '/', headers: { 'dapr-api-token': signDaprJwt({}, { key: pair.privateKey, kid: 'any' }) } })).statusCode, 200,
    'keys without ids ignore the token kid')
  await app.close()
  t.equal(source.state().watching, false)
})

test('byKid and a custom selector', async t => {
  const a = oct('a', 'x')
  const b = oct('b', 'y')
  const decoded = (kid?: string): Parameters<typeof byKid>[1] => ({ header: kid === undefined ? { alg: 'HS256' } : { alg: 'HS256', kid }, payload: {} })
  t.equal(byKid([a, b], decoded('b')), b)
  t.equal(byKid([a, b], decoded('c')), undefined)
  t.equal(byKid([a, b], decoded()), undefined, 'a token without kid matches no key that has one')
  t.equal(byKid(['secret', b], decoded('b')), b)
  t.equal(byKid(['secret', Buffer.from('bytes')], decoded('b')), 'secret')
  t.equal(byKid([{ kty: 'oct', k: 'eA' }], decoded('b'))?.k, 'eA')

  const dir = await tempDir(t)
  const path = join(dir, 'secrets')
  await writeFile(path, 'old-secret-with-enough-bytes-32!!\nnew-secret-with-enough-bytes-32!!\n')
  const source = fromFile(path, { pollMs: 0 })
  // Try the key named by the token's kid as a line number: a selector sees every served key.
  const resolver = jwtKeyFrom(source, (keys, { header }) => keys[Number(header.kid)])
  t.equal(resolver.keysVersion, 0)
  const { call } = await appWith(t, { key: resolver, algorithms: ['HS256'] })
  t.ok((resolver.keysVersion ?? 0) > 0, 'opened: keys loaded')
  t.same(await call(signDaprJwt({}, { key: 'new-secret-with-enough-bytes-32!!', kid: '1' })), [200, undefined])
  t.same(await call(signDaprJwt({}, { key: 'new-secret-with-enough-bytes-32!!', kid: '0' })), [401, 'FST_DAPR_TOKEN_BAD_SIGNATURE'])
})
