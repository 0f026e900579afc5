import { generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { test, type Test } from 'tap'
import Fastify from 'fastify'
import daprTokenAuth, { fromJwks, signDaprJwt, type JwtAlgorithm } from '../lib/index.js'
import { cli, HELP_HINT, type Captured } from './helpers/cli.js'
import { listen, send } from './helpers/http.js'

/*
 * `verify --jwt-key-file <JWKS>` and `verify --jwks-url` pick a token's key with the same code as
 * the plugin's `fromJwks`: for one document, the file, the URL and the plugin over a real socket
 * give one verdict. Regression: the file path picked by `kid` alone (the library's `byKid`), so
 * it called tokens valid that fromJwks refuses, and the other way round.
 */

const UNKNOWN = 'refused: Unknown Dapr API token key (FST_DAPR_TOKEN_UNKNOWN_KID): '

function publicJwk (key: KeyObject, members: Record<string, unknown> = {}): JsonWebKey {
  return { ...key.export({ format: 'jwk' }), ...members }
}

/** Serves `document` as JSON on 127.0.0.1, on a port the system picks; closed at the end of the test. */
async function serve (t: Test, document: unknown): Promise<string> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => resolve()))
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`
}

/** `valid`, the refusal's code, or `unusable` (exit 2: the key source failed or the input is unusable). */
function cliVerdict ({ code, stdout }: Captured): string {
  if (code === 0) return 'valid'
  if (code === 1) return /\((FST_DAPR_TOKEN_[A-Z_]+)\)/.exec(stdout)?.[1] as string
  return 'unusable'
}

/** The plugin with `fromJwks({ url })`, asked over a real socket: `valid`, the 401's code, or `unusable` for a 503. */
async function pluginVerdict (url: string, alg: JwtAlgorithm, token: string): Promise<string> {
  const app = Fastify()
  await app.register(daprTokenAuth, { jwt: { key: fromJwks({ url }), algorithms: [alg] } })
  app.get('/', async () => 'ok')
  const { port } = await listen(app)
  try {
    const response = await send(port, 'GET', '/', { 'dapr-api-token': token })
    if (response.statusCode === 200) return 'valid'
    return response.statusCode === 503 ? 'unusable' : JSON.parse(response.body).code
  } finally {
    await app.close()
  }
}

interface Verdicts { file: string, url: string, plugin: string, fileOutput: Captured }

/** One document and one token, through `--jwt-key-file`, `--jwks-url` and the plugin, all with `--alg alg`. */
async function verdicts (t: Test, keys: unknown[], token: string, alg: JwtAlgorithm): Promise<Verdicts> {
  const dir = t.testdir({ 'jwks.json': JSON.stringify({ keys }) })
  const url = await serve(t, { keys })
  const fileOutput = await cli(['verify', '--jwt-key-file', join(dir, 'jwks.json'), '--alg', alg], { stdin: token })
  const viaUrl = await cli(['verify', '--jwks-url', url, '--alg', alg], { stdin: token })
  return { file: cliVerdict(fileOutput), url: cliVerdict(viaUrl), plugin: await pluginVerdict(url, alg, token), fileOutput }
}

function same (t: Test, { file, url, plugin }: Verdicts, expected: string, name: string): void {
  t.same({ file, url, plugin }, { file: expected, url: expected, plugin: expected }, name)
}

test('an Ed448 key (jose does not load one) is an unknown key from a file as from a URL and fromJwks', async t => {
  const ed448 = generateKeyPairSync('ed448')
  const ed25519 = generateKeyPairSync('ed25519')
  const keys = [publicJwk(ed448.publicKey, { kid: 'ed448' }), publicJwk(ed25519.publicKey, { kid: 'ed25519' })]
  const refused = await verdicts(t, keys, signDaprJwt({}, { key: ed448.privateKey, algorithm: 'EdDSA', kid: 'ed448' }), 'EdDSA')
  same(t, refused, 'FST_DAPR_TOKEN_UNKNOWN_KID', 'the Ed448 key')
  t.same(refused.fileOutput, {
    code: 1, stdout: `${UNKNOWN}the token's kid "ed448" names a key in the file that cannot verify a signature: the key type or curve is not supported\n`, stderr: ''
  })
  same(t, await verdicts(t, keys, signDaprJwt({}, { key: ed25519.privateKey, algorithm: 'EdDSA', kid: 'ed25519' }), 'EdDSA'), 'valid', 'the Ed25519 key beside it')
})

test('a key whose key_ops do not include "verify" is an unknown key from a file as from a URL and fromJwks', async t => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const refused = await verdicts(t, [publicJwk(ec.publicKey, { kid: 'k1', key_ops: ['encrypt'] })], signDaprJwt({}, { key: ec.privateKey, kid: 'k1' }), 'ES256')
  same(t, refused, 'FST_DAPR_TOKEN_UNKNOWN_KID', 'key_ops encrypt')
  t.same(refused.fileOutput, {
    code: 1, stdout: `${UNKNOWN}the token's kid "k1" names a key in the file that cannot verify a signature: its "key_ops" do not allow "verify"\n`, stderr: ''
  })
  same(t, await verdicts(t, [publicJwk(ec.publicKey, { kid: 'k1', key_ops: ['verify'] })], signDaprJwt({}, { key: ec.privateKey, kid: 'k1' }), 'ES256'), 'valid', 'key_ops verify')
})

test('two keys sharing a kid: the one that fits the token\'s alg verifies it, from a file as from a URL and fromJwks', async t => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  const keys = [publicJwk(p256.publicKey, { kid: 'shared' }), publicJwk(p384.publicKey, { kid: 'shared' })]
  const es384 = signDaprJwt({ sub: 'p384' }, { key: p384.privateKey, kid: 'shared' })
  const accepted = await verdicts(t, keys, es384, 'ES384')
  same(t, accepted, 'valid', 'ES384')
  t.match(accepted.fileOutput, { code: 0, stdout: /^valid: JWT accepted; claims \{"sub":"p384",/, stderr: '' })
  same(t, await verdicts(t, keys, signDaprJwt({}, { key: p256.privateKey, kid: 'shared' }), 'ES256'), 'valid', 'ES256')
  // Without --alg the file allows what each key implies: both curves.
  const dir = t.testdir({ 'jwks.json': JSON.stringify({ keys }) })
  t.equal((await cli(['verify', '--jwt-key-file', join(dir, 'jwks.json')], { stdin: es384 })).code, 0, 'default algorithms')
})

test('keys without a kid are picked as fromJwks picks them, not refused as a set', async t => {
  const a = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const b = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const mixed = [publicJwk(a.publicKey, { kid: 'a' }), publicJwk(b.publicKey)]
  same(t, await verdicts(t, mixed, signDaprJwt({}, { key: a.privateKey, kid: 'a' }), 'ES256'), 'valid', 'a kid beside a key without one')
  const several = await verdicts(t, mixed, signDaprJwt({}, { key: b.privateKey }), 'ES256')
  same(t, several, 'FST_DAPR_TOKEN_UNKNOWN_KID', 'no kid, two keys fit')
  t.same(several.fileOutput, { code: 1, stdout: `${UNKNOWN}the token has no kid, and several of the file's keys fit its alg "ES256": a kid must pick one\n`, stderr: '' })
  const lone = [publicJwk(b.publicKey)]
  const named = await verdicts(t, lone, signDaprJwt({}, { key: b.privateKey, kid: 'any' }), 'ES256')
  same(t, named, 'FST_DAPR_TOKEN_UNKNOWN_KID', 'a kid the one key does not have')
  t.same(named.fileOutput, { code: 1, stdout: `${UNKNOWN}the token's kid "any" is none of the file's (1 without a kid)\n`, stderr: '' })
  same(t, await verdicts(t, lone, signDaprJwt({}, { key: b.privateKey }), 'ES256'), 'valid', 'no kid, one key')
  const noneFits = await verdicts(t, lone, signDaprJwt({}, { key: generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey }), 'ES384')
  same(t, noneFits, 'FST_DAPR_TOKEN_UNKNOWN_KID', 'no kid, no key fits')
  t.same(noneFits.fileOutput, { code: 1, stdout: `${UNKNOWN}the token has no kid, and none of the file's keys fits its alg "ES384" (1 without a kid)\n`, stderr: '' })
})

test('an object without a "kty" beside good keys is skipped, as fromJwks skips it', async t => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const keys = [publicJwk(ec.publicKey, { kid: 'a' }), { kid: 'b', n: 'x' }]
  same(t, await verdicts(t, keys, signDaprJwt({}, { key: ec.privateKey, kid: 'a' }), 'ES256'), 'valid', 'the good key')
  const skipped = await verdicts(t, keys, signDaprJwt({}, { key: ec.privateKey, kid: 'b' }), 'ES256')
  same(t, skipped, 'FST_DAPR_TOKEN_UNKNOWN_KID', 'the entry without a kty')
  t.same(skipped.fileOutput, { code: 1, stdout: `${UNKNOWN}the token's kid "b" names a key in the file that cannot verify a signature: it is not a JWK (it has no "kty")\n`, stderr: '' })
})

test('a picked key that cannot be imported fails the key source from a file as from a URL (a 503 in the plugin)', async t => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const good = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  // node:crypto reads it; WebCrypto refuses a public key for signing.
  const keys = [publicJwk(ec.publicKey, { kid: 'bad', key_ops: ['verify', 'sign'] }), publicJwk(good.publicKey, { kid: 'good' })]
  const failed = await verdicts(t, keys, signDaprJwt({}, { key: ec.privateKey, kid: 'bad' }), 'ES256')
  same(t, failed, 'unusable', 'the key that cannot be imported')
  t.same([failed.fileOutput.code, failed.fileOutput.stdout], [2, ''])
  t.match(failed.fileOutput.stderr, /^fastify-dapr-token-auth verify: the --jwt-key-file JWKS: the key the token picks cannot be imported \(SyntaxError: [^\n]+\)\n/)
  same(t, await verdicts(t, keys, signDaprJwt({}, { key: good.privateKey, kid: 'good' }), 'ES256'), 'valid', 'the other key')
  // Alone, it gives no default --alg, and a kid naming it says why.
  const dir = t.testdir({ 'jwks.json': JSON.stringify({ keys: keys.slice(0, 1) }) })
  t.same(await cli(['verify', '--jwt-key-file', join(dir, 'jwks.json')], { stdin: signDaprJwt({}, { key: ec.privateKey, kid: 'bad' }) }), {
    code: 2, stdout: '', stderr: 'fastify-dapr-token-auth verify: the --jwt-key-file JWKS holds no key that can verify a signature\n' + HELP_HINT('verify')
  })
})

test('verify --jwt-key-file explains a refusal in the selection\'s terms', async t => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const ed448 = generateKeyPairSync('ed448')
  const dir = t.testdir({
    'twins.json': JSON.stringify({ keys: [publicJwk(p256.publicKey, { kid: 'k' }), publicJwk(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey, { kid: 'k' })] }),
    'ec.json': JSON.stringify({ keys: [publicJwk(p256.publicKey, { kid: 'k' })] }),
    'ed448.json': JSON.stringify({ keys: [publicJwk(ed448.publicKey, { kid: 'e', key_ops: ['verify'] }), publicJwk(ed448.publicKey, { kid: 'f', key_ops: 'verify' })] })
  })
  const check = async (file: string, token: string, alg: JwtAlgorithm, reason: string): Promise<void> => {
    t.same(await cli(['verify', '--jwt-key-file', join(dir, file), '--alg', alg], { stdin: token }), { code: 1, stdout: `${UNKNOWN}${reason}\n`, stderr: '' }, reason)
  }
  await check('twins.json', signDaprJwt({}, { key: p256.privateKey, kid: 'k' }), 'ES256', 'the token\'s kid "k" picks several of the file\'s keys that fit its alg "ES256": give each key a kid of its own')
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
  await check('ec.json', signDaprJwt({}, { key: rsa, kid: 'k' }), 'RS256', 'the token\'s kid "k" names a key in the file that does not fit its alg "RS256" (it fits ES256)')
  // With --alg, a set with no usable key is still checked: every token is an unknown key, as from a URL.
  const eddsa = (kid: string): string => signDaprJwt({}, { key: ed448.privateKey, algorithm: 'EdDSA', kid })
  await check('ed448.json', eddsa('e'), 'EdDSA', 'the token\'s kid "e" names a key in the file that cannot verify a signature: the key type or curve is not supported')
  await check('ed448.json', eddsa('f'), 'EdDSA', 'the token\'s kid "f" names a key in the file that cannot verify a signature: its "key_ops" do not allow "verify"')
  await check('ed448.json', eddsa('z'), 'EdDSA', 'the token\'s kid "z" is none of the file\'s (it has no key that can verify a signature)')
})
